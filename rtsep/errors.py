"""Errors a user can act on.

Every failure that comes from the user's input (a file, a device, an option, a model file) or
from where outputs go is raised as an ``RtsepError`` subclass with a one-line message; the CLI
prints the message and exits with status 2, without a traceback. This module imports nothing,
so ``models`` can use the same vocabulary without importing the engine.
"""

__all__ = ["RtsepError", "AudioFileError", "DeviceError", "ModelFileError", "ConfigError",
           "OutputError", "ScoreFileError"]


class RtsepError(Exception):
    """Base class: the message is shown to the user as it is."""


class AudioFileError(RtsepError):
    """An input audio file is missing, unreadable, empty or not finite."""


class OutputError(RtsepError):
    """An output cannot be written: a read-only folder, a full disk, a name that is taken."""


class DeviceError(RtsepError):
    """An audio or MIDI device is unknown, busy, or went away."""


class ConfigError(RtsepError):
    """An option or combination of options is invalid."""


class ModelFileError(RtsepError):
    """A model file is missing, damaged, or does not match its description (names the file)."""


class ScoreFileError(RtsepError):
    """A score (a MIDI file) is missing, unreadable, truncated, or lacks the part asked for."""
