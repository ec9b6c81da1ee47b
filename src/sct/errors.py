"""Errors that reach the user as one clear message (the CLI prints them and exits 2)."""


class SCTError(Exception):
    """Base class: bad input or configuration the user can fix."""


class ConfigError(SCTError):
    """An invalid option or hyper-parameter, raised before any model or data is loaded."""


class DataError(SCTError):
    """A missing or malformed data file; the message names the file (and line) and what was expected."""


class ModelResolutionError(SCTError):
    """A model argument that resolves nowhere; the message lists every place tried."""


class TrainingStopped(SCTError):
    """Training stopped early and resumably (a signal, or a non-finite loss); the message says how to go on."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class WriteError(DataError, OSError):
    """A file could not be written (disk full, read-only folder); still an OSError for callers that retry or
    name the last whole checkpoint."""
