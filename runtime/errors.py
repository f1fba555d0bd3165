"""Errors a user can cause: the CLI prints them as one line and exits non-zero."""


class SignclipError(Exception):
    """A problem with the user's input or environment, not a bug in the toolkit."""


class UnsupportedLayout(SignclipError):
    """A pose file holds no component that maps onto the layout we need."""
