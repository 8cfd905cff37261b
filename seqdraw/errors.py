"""The one exception type users see: the CLI prints it as a single line and exits with code 2."""


class SeqdrawError(Exception):
    """A problem with the user's input or files (bad digit string, corrupt checkpoint, ...)."""
