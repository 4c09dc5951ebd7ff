"""python -m weft: an interactive console with top-level await, running on weft's loop."""

from .repl import main

if __name__ == "__main__":
    main()
