"""Entry point of ``python -m memo_core``."""

import sys

from .cli import main

sys.exit(main())
