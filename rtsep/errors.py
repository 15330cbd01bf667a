"""Errors a user can act on.

Every failure that comes from the user's input (a file, a device, an option, a model file)
is raised as an ``RtsepError`` subclass with a one-line message; the CLI prints the message and
exits non-zero without a traceback.
"""

# One class for both packages: ``models`` may not import ``rtsep``, so it defines the model-file
# error and ``rtsep`` re-exports it (the CLI runner catches it beside RtsepError).
from models.errors import ModelFileError

__all__ = ["RtsepError", "AudioFileError", "DeviceError", "ModelFileError", "ConfigError"]


class RtsepError(Exception):
    """Base class: the message is shown to the user as it is."""


class AudioFileError(RtsepError):
    """An input audio file is missing, unreadable, empty, silent or not finite."""


class DeviceError(RtsepError):
    """An audio or MIDI device is unknown, busy, or went away."""


class ConfigError(RtsepError):
    """An option or combination of options is invalid."""
