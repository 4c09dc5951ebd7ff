"""Makes the package importable from the source tree when it was built in place."""

import pathlib
import sys

try:
    import weft  # noqa: F401
except ImportError:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
