"""``python -m rtsep`` and the ``rtsep`` program: the command line.

The entry point imports the command line (typer, numpy, numba: most of a second) inside a
``try``, so a Ctrl-C while it starts ends quietly with status 130 instead of a traceback.
"""

import sys


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:  # nothing has been done yet
        print("rtsep: interrupted", file=sys.stderr)
        sys.exit(130)
    run()


if __name__ == "__main__":
    main()
