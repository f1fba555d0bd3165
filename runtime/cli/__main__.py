"""`python -m signclip.runtime.cli`: the `signclip` command."""

import sys

from .main import main

sys.exit(main())
