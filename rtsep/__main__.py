"""``python -m rtsep``: the same command line as the ``rtsep`` program."""

from .cli import main

main()
