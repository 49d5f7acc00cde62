"""Entry point of ``python -m memo_core``."""

import sys

from memo_core.cli.parser import main

sys.exit(main())
