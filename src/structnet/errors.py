"""User-facing errors: one line, no traceback, non-zero exit (see ``structnet.cli``)."""
import argparse


class UserError(Exception):
    """A problem with the user's input (file, option, data), reported as one line."""


class Parser(argparse.ArgumentParser):
    """argparse whose errors are the one-line UserError of every other bad input."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message}")
