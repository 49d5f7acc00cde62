"""SQL over a LIBRARY with DuckDB (embedded, no server), and the CSV export.

The tables are views: ``songs`` (one row per song), ``frames`` (every song's frames, read from the
per-song Parquet files only when a query touches them), ``errors`` and ``paths`` (every file found, duplicates
sharing a ``song_id``). :mod:`.store` documents the columns.

>>> query_library("out/library", "SELECT quadrant, count(*) AS n FROM songs GROUP BY quadrant")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow.csv as pacsv

from memo_core.errors import MemoError
from memo_core.experiments.library import store
from memo_core.fileio import atomic_write

__all__ = ["TABLES", "connect", "query_library", "export_library"]

#: The views a query sees.
TABLES = ("songs", "frames", "errors", "paths")


def connect(library: str | os.PathLike):
    """An in-memory DuckDB connection with the library's tables as views (:data:`TABLES`).

    Raises:
        LibraryError: ``library`` is not a MEMO library.
    """
    # lazy: duckdb loads a 40 MB extension; only queries need it
    import duckdb

    lib = store.open_library(library)
    con = duckdb.connect(":memory:")
    songs, errors, paths = lib.songs(), lib.errors(), lib.paths()
    con.register("songs_df", songs)
    con.register("errors_df", errors)
    con.register("paths_df", paths)
    con.execute("CREATE VIEW songs AS SELECT * FROM songs_df")
    con.execute("CREATE VIEW errors AS SELECT * FROM errors_df")
    con.execute("CREATE VIEW paths AS SELECT * FROM paths_df")
    frames = lib.path / store.FRAMES_DIR
    if any(frames.glob("*.parquet")):
        pattern = str(frames / "*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW frames_files AS SELECT * FROM read_parquet('{pattern}', union_by_name = true)")
        have = {row[0] for row in con.execute("DESCRIBE frames_files").fetchall()}
        # the documented columns in their order; one a library of an older MEMO lacks (distance) reads as NULL
        columns = ", ".join(c if c in have else f"CAST(NULL AS DOUBLE) AS {c}" for c in store.FRAME_COLUMNS)
        con.execute(f"CREATE VIEW frames AS SELECT {columns} FROM frames_files")
    else:
        con.execute("CREATE VIEW frames AS SELECT CAST(NULL AS VARCHAR) AS song_id, CAST(NULL AS DOUBLE) AS time_s, "
                    "CAST(NULL AS VARCHAR) AS model, CAST(NULL AS DOUBLE) AS valence, "
                    "CAST(NULL AS DOUBLE) AS arousal, CAST(NULL AS DOUBLE) AS distance WHERE false")
    return con


def query_library(library: str | os.PathLike, sql: str) -> pd.DataFrame:
    """The result of ``sql`` over the library's tables (:data:`TABLES`) as a DataFrame.

    Raises:
        LibraryError: not a MEMO library.
        MemoError: the SQL is empty or DuckDB refuses it (the message is DuckDB's, with the tables named).
    """
    # lazy: see connect
    import duckdb

    if not str(sql or "").strip():
        raise MemoError("give an SQL query, e.g. \"SELECT path, valence, arousal FROM songs ORDER BY arousal DESC\"")
    con = connect(library)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        raise MemoError(f"the query failed: {exc}. The tables are {', '.join(TABLES)} (see the README's "
                        "Collections section for their columns)") from exc
    finally:
        con.close()


def export_library(library: str | os.PathLike, out: str | os.PathLike, *, frames: bool = True,
                   batch_rows: int = 65_536) -> list[Path]:
    """Write the library's tables as CSV into ``out``: ``songs.csv``, ``errors.csv``, ``paths.csv`` and (with
    ``frames``) ``frames.csv`` (every song's frames, one file).

    The frames are streamed from DuckDB in batches of ``batch_rows`` rows, so memory stays bounded however large
    the collection, in the order of the per-song files (by ``song_id``, then ``model`` and ``time_s``); each file
    is written atomically. Strings are quoted, as Arrow's CSV writer quotes them.

    Returns:
        The files written.
    """
    lib = store.open_library(library)
    out = Path(out).expanduser()
    tables = {"songs": lib.songs(), "errors": lib.errors(), "paths": lib.paths()}
    written = []
    for name, table in tables.items():
        written.append(atomic_write(out / f"{name}.csv", lambda h, t=table: t.to_csv(h, index=False)))
    if frames:
        con = connect(lib.path)
        try:
            reader = con.sql("SELECT * FROM frames").to_arrow_reader(int(batch_rows))

            def write(handle) -> None:
                with pacsv.CSVWriter(handle, reader.schema) as writer:  # strings quoted, as Arrow writes them
                    for batch in reader:
                        writer.write_batch(batch)

            written.append(atomic_write(out / "frames.csv", write, binary=True))
        finally:
            con.close()
    return written
