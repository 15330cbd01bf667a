"""``python -m rtsep`` and the ``rtsep`` program.

The stop signals are handled before the command line is imported (about a second of imports
on a busy machine), so a Ctrl-C or SIGTERM at any moment ends with a one-line note.
"""

import sys


def entry() -> None:
    from .interrupts import install_handlers, interrupted_exit, signal_of

    install_handlers()
    try:
        from .cli import main
    except KeyboardInterrupt as exc:  # a stop signal during the imports
        interrupted_exit("rtsep", signal_of(exc))
    main()


if __name__ == "__main__":
    sys.exit(entry())
