"""User-facing errors: one line, no traceback, non-zero exit (see ``structnet.cli``)."""


class UserError(Exception):
    """A problem with the user's input (file, option, data), reported as one line."""
