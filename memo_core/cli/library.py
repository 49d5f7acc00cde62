"""``library analyse | query | export``: a whole collection on Dask into a LIBRARY folder of Parquet, and SQL
over it (:mod:`memo_core.experiments.library`)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from memo_core.errors import MemoError
from memo_core.experiments.library.analyse import analyse_library
from memo_core.experiments.library.query import export_library, query_library
from memo_core.fileio import atomic_write


def cmd_library(args: argparse.Namespace) -> int:
    """``library`` without a subcommand."""
    raise MemoError("give a library command: analyse, query or export (see `python -m memo_core library --help`)")


def _keys(text: str | None) -> list[str] | None:
    keys = [k.strip() for k in str(text or "").split(",") if k.strip()]
    return keys or None


def cmd_library_analyse(args: argparse.Namespace) -> int:
    """Analyse SOURCE(s) into LIBRARY; exit 1 when some file failed (they are in the errors table)."""
    report = analyse_library(args.source, args.out, checkpoints=_keys(args.checkpoints),
                             checkpoints_dir=args.checkpoints_dir, scheduler=args.scheduler, workers=args.workers,
                             progress=not args.quiet)
    print(report.summary())
    if report.failed:
        print(f"{report.failed} file(s) could not be analysed: see them with "
              f"`python -m memo_core library query {args.out} \"SELECT path, reason FROM errors\"`", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_library_query(args: argparse.Namespace) -> int:
    """Print the result of an SQL query (or write it as CSV with --csv)."""
    table = query_library(args.library, args.sql)
    if args.csv:
        atomic_write(args.csv, lambda h: table.to_csv(h, index=False))
        print(f"{len(table)} rows -> {args.csv}")
        return 0
    with pd.option_context("display.max_rows", args.max_rows, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 80):
        print(table.to_string(index=False, max_rows=args.max_rows) if len(table) else "(no rows)")
    return 0


def cmd_library_export(args: argparse.Namespace) -> int:
    """Write the tables as CSV."""
    written = export_library(args.library, args.out, frames=not args.no_frames)
    print(f"wrote {', '.join(p.name for p in written)} -> {args.out}")
    return 0
