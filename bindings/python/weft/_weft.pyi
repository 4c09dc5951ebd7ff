# The cffi extension module: its two objects, typed loosely (cffi builds them at runtime).
from typing import Any

ffi: Any
lib: Any
