"""`python -m signclip.runtime.cli`: the `signclip` command."""

from .main import command

command()
