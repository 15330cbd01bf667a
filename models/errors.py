"""Errors raised by the model file format. No torch import, so the CLI can catch them cheaply."""


class ModelFileError(Exception):
    """A model file is missing, damaged, or does not match its description.

    The message is one line and names the file; ``rtsep``'s CLI prints it as it is.
    """
