"""Errors that reach the user as one clear message (the CLI prints them and exits 2)."""


class SCTError(Exception):
    """Base class: bad input or configuration the user can fix."""


class ConfigError(SCTError):
    """An invalid option or hyper-parameter, raised before any model or data is loaded."""


class DataError(SCTError):
    """A missing or malformed data file; the message names the file (and line) and what was expected."""


class ModelResolutionError(SCTError):
    """A model argument that resolves nowhere; the message lists every place tried."""
