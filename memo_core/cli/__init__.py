"""``python -m memo_core <command>``: the parser (:mod:`~memo_core.cli.parser`) and one small module per
command group (:mod:`~memo_core.cli.data`, :mod:`~memo_core.cli.models`, :mod:`~memo_core.cli.experiments`;
what they share in :mod:`~memo_core.cli._common`). Nothing in ``memo_core`` imports this package.
"""

from memo_core.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
