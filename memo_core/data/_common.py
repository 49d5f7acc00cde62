"""Readers and checks shared by the dataset loaders (private to :mod:`memo_core.data`).

The public datasets share a few table shapes: the "wide" per-song rows of
DEAM, emoMusic and the synthetic corpus (``song_id,sample_15000ms,...``), the
"long" frame rows of PMEmo and the generic layout (``song_id,time,value``), and
small per-song tables with untidy headers. Each shape is read once, here, and
every reader reports bad songs as ``{song_id: reason}`` instead of raising, so
a loader can put them into :attr:`DatasetLoad.skipped`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from memo_core.data.records import DatasetLoad, SkippedSong, SongRecord
from memo_core.errors import DatasetError

__all__ = [
    "WideTable",
    "read_wide_csv",
    "read_long_series",
    "read_table",
    "check_columns",
    "clean_id",
    "require_dir",
    "require_file",
    "find_audio",
    "optional_file",
    "song_sort_key",
    "finish_load",
    "values_at",
    "SCALES",
    "to_unit_scale",
    "spread_to_unit_scale",
    "read_static_table",
    "read_text",
    "NO_AUDIO",
]

#: The one reason used for every song dropped by ``require_audio=True``.
NO_AUDIO = "no audio file"

_SAMPLE_COLUMN = re.compile(r"^sample_(\d+(?:\.\d+)?)ms$")


def song_sort_key(song_id: str) -> tuple[int, float, str]:
    """Numeric ids in numeric order ("2" < "10"), then the rest alphabetically."""
    try:
        return (0, float(song_id), song_id)
    except ValueError:
        return (1, 0.0, song_id)


def clean_id(value: object) -> str:
    """A song id as a plain string: stray whitespace gone, ``"12.0"`` read back as ``"12"``."""
    text = str(value).strip()
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    return text


#: Rating scale name -> (offset, factor): a value in [-1, 1] is ``(value - offset) * factor``
#: and a spread (std) is ``std * factor``. DEAM and emoMusic rate 1-9 (SAM), PMEmo 0-1.
SCALES: dict[str, tuple[float, float]] = {"-1-1": (0.0, 1.0), "0-1": (0.5, 2.0), "1-9": (5.0, 0.25)}


def to_unit_scale(values, scale: str):
    """Ratings on ``scale`` (a :data:`SCALES` name) mapped to [-1, 1]; scalars stay scalars."""
    offset, factor = SCALES[scale]
    return (values - offset) * factor if isinstance(values, np.ndarray) else (float(values) - offset) * factor


def spread_to_unit_scale(values, scale: str):
    """A spread (std over raters) on ``scale`` in [-1, 1] units: it moves with the width only."""
    factor = SCALES[scale][1]
    return values * factor if isinstance(values, np.ndarray) else float(values) * factor


def require_dir(path: Path, *, dataset: str, hint: str) -> Path:
    """``path`` if it is a folder, else a DatasetError saying what was expected and what to do."""
    path = Path(path)
    if not path.is_dir():
        if path.exists():
            raise DatasetError(f"{dataset}: {path} is not a folder. {hint}")
        raise DatasetError(f"{dataset}: expected the folder {path}, which does not exist. {hint}")
    return path


def require_file(path: Path, *, dataset: str, hint: str) -> Path:
    """``path`` if it is a file, else a DatasetError saying what was expected and what to do."""
    path = Path(path)
    if not path.is_file():
        if path.exists():
            raise DatasetError(f"{dataset}: {path} is not a file. {hint}")
        raise DatasetError(f"{dataset}: expected the file {path}, which does not exist. {hint}")
    return path


def read_text(path: Path, *, dataset: str, kind: str = "CSV") -> str:
    """The whole of a text file (a UTF-8 byte-order mark dropped), or a DatasetError if it is not UTF-8 text."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(
            f"{dataset}: {path} is not a UTF-8 {kind} file (it holds bytes that are not UTF-8 text). "
            f"Check that it is the dataset's original file, or re-save it as UTF-8 {kind}."
        ) from None


def _read_rows(path: Path, *, dataset: str, sep: str = ",") -> list[list[str]]:
    """The rows of a UTF-8 CSV (or ``sep``-separated) file; a DatasetError for anything else."""
    kind = "TSV" if sep == "\t" else "CSV"
    text = read_text(path, dataset=dataset, kind=kind)
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as error:
        raise DatasetError(
            f"{dataset}: {path} is not a UTF-8 {kind} file ({error}). "
            f"Check that it is the dataset's original file, or re-save it as UTF-8 {kind}."
        ) from None


def optional_file(path: Path) -> Path | None:
    """``path`` if that file exists, else None (for a dataset's optional files)."""
    return path if path.is_file() else None


def find_audio(folder: Path, stem: str, extensions: Iterable[str]) -> Path | None:
    """The first ``folder/stem.ext`` that exists, trying ``extensions`` in order, else None."""
    for ext in extensions:
        candidate = folder / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return None


@dataclass
class WideTable:
    """One wide annotation file: one row of values per song on a shared time grid.

    Attributes:
        frame_times: the column instants in seconds. [shape=(n_columns,)]
        series: per song, its values with empty trailing cells removed, so a
            shorter (ragged) row gives a shorter series. [shape=(n_frames,)]
        skipped: per song, why its row could not be used.
    """

    frame_times: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def read_wide_csv(path: Path, *, dataset: str) -> WideTable:
    """Read a ``song_id,sample_15000ms,sample_15500ms,...`` file.

    Rows shorter than the header or ending in empty cells give shorter series
    (DEAM's full-length songs); a row with an empty cell *inside* its series,
    a non-numeric cell or more cells than the header is skipped with a reason.

    Args:
        path: the CSV file.
        dataset: the loader name, for error messages.

    Returns:
        The table; ``frame_times`` are parsed from the column names in seconds.

    Raises:
        DatasetError: the file is not a UTF-8 CSV, or its header is not
            ``song_id`` followed by ``sample_<ms>ms`` columns.
    """
    rows = _read_rows(path, dataset=dataset)
    if not rows:
        raise DatasetError(f"{dataset}: {path} is empty; expected a header song_id,sample_15000ms,...")
    header = [cell.strip() for cell in rows[0]]
    if header[0] != "song_id":
        raise DatasetError(
            f"{dataset}: {path} starts with the column {header[0]!r}; expected a wide annotation file with the "
            "header song_id,sample_15000ms,sample_15500ms,... (one column per annotation instant)"
        )
    times_ms = []
    for name in header[1:]:
        match = _SAMPLE_COLUMN.match(name)
        if match is None:
            raise DatasetError(
                f"{dataset}: {path} has the column {name!r}; expected a wide annotation file with the "
                "header song_id,sample_15000ms,sample_15500ms,... (one column per annotation instant)"
            )
        times_ms.append(float(match.group(1)))
    table = WideTable(frame_times=np.asarray(times_ms, dtype=np.float64) / 1000.0)
    n_columns = len(header) - 1
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        song_id = clean_id(row[0])
        cells = [cell.strip() for cell in row[1:]]
        if len(cells) > n_columns and any(cells[n_columns:]):
            table.skipped[song_id] = "annotation row has more values than the header has columns"
            continue
        cells = cells[:n_columns]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            table.skipped[song_id] = "empty annotation row"
            continue
        if "" in cells:
            table.skipped[song_id] = "empty cell inside the annotation series"
            continue
        try:
            values = np.asarray(cells, dtype=np.float64)
        except ValueError:
            table.skipped[song_id] = "non-numeric annotation value"
            continue
        if not np.all(np.isfinite(values)):
            table.skipped[song_id] = "non-numeric annotation value"
            continue
        table.series[song_id] = values
    return table


def read_table(path: Path, *, dataset: str, sep: str = ",") -> pd.DataFrame:
    """A small per-song table as strings, with whitespace and stray tabs stripped from names and cells.

    Rows with more cells than the header (an unquoted comma in a title) keep
    their overflow joined into the last column rather than failing the file.

    Raises:
        DatasetError: the file is empty or is not a UTF-8 CSV.
    """
    rows = _read_rows(path, dataset=dataset, sep=sep)
    if not rows:
        raise DatasetError(f"{dataset}: {path} is empty; expected a header row")
    header = [name.strip() for name in rows[0]]
    n = len(header)
    fixed = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > n:
            row = row[: n - 1] + [sep.join(row[n - 1 :])]
        fixed.append([cell.strip() for cell in row] + [""] * (n - len(row)))
    frame = pd.DataFrame(fixed, columns=header, dtype=object)
    return frame.replace("", np.nan)


def read_static_table(
    path: Path, *, dataset: str, columns: Mapping[str, str], scale: str, id_column: str = "song_id"
) -> dict[str, dict[str, float]]:
    """Song-level ratings: ``song_id -> {name: value in [-1, 1] units}``.

    Args:
        path: the table (header names are stripped of stray spaces).
        dataset: the loader name, for error messages.
        columns: output name -> column; names ending in ``_std`` are spreads
            (mapped with the scale's width only), the others means.
        scale: the ratings' scale, a :data:`SCALES` name.
        id_column: the song id column.

    Returns:
        Per song, the values it has: an empty or non-numeric cell ("NA") gives
        no entry for that value, not an error.

    Raises:
        DatasetError: the id column or a mean column is missing, or the file is not a UTF-8 CSV.
    """
    frame = read_table(path, dataset=dataset)
    check_columns(frame, [id_column, *(c for k, c in columns.items() if not k.endswith("_std"))],
                  path=path, dataset=dataset)
    out: dict[str, dict[str, float]] = {}
    numeric = {k: pd.to_numeric(frame[c], errors="coerce") for k, c in columns.items() if c in frame.columns}
    for position, raw_id in enumerate(frame[id_column]):
        if pd.isna(raw_id):
            continue
        values: dict[str, float] = {}
        for key, column in numeric.items():
            value = column.iloc[position]
            if pd.notna(value) and np.isfinite(value):
                mapped = spread_to_unit_scale(value, scale) if key.endswith("_std") else to_unit_scale(value, scale)
                values[key] = float(mapped)
        out[clean_id(raw_id)] = values
    return out


def check_columns(frame: pd.DataFrame, required: Iterable[str], *, path: Path, dataset: str) -> None:
    """DatasetError naming the missing columns and the ones found."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise DatasetError(
            f"{dataset}: {path} lacks the column(s) {missing}; found {list(frame.columns)}. "
            "Check that this is the dataset's original file."
        )


def read_long_series(
    frame: pd.DataFrame,
    *,
    id_column: str,
    time_column: str,
    value_columns: Mapping[str, str],
) -> tuple[dict[str, tuple[np.ndarray, dict[str, np.ndarray]]], dict[str, str]]:
    """Group a long ``song, time, value...`` table into one series per song.

    Rows with a missing time or value are dropped (a frame lost, not the song);
    frames are sorted by time; a song with two rows at the same instant is
    skipped, since there is no right way to choose between them.

    Args:
        frame: the table, cells as strings or numbers.
        id_column: the song id column.
        time_column: the time column, in seconds.
        value_columns: output name -> column name (e.g. ``{"valence": "Valence(mean)"}``).

    Returns:
        ``({song_id: (frame_times, {name: values})}, {song_id: reason})``; every
        array has shape (n_frames,).
    """
    columns = [time_column, *value_columns.values()]
    numeric = frame[columns].apply(pd.to_numeric, errors="coerce")
    numeric.insert(0, "_id", frame[id_column].map(clean_id))
    series: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    skipped: dict[str, str] = {}
    for song_id, group in numeric.groupby("_id", sort=False):
        group = group.dropna(subset=columns)
        if group.empty:
            skipped[song_id] = "no complete annotation row"
            continue
        times = group[time_column].to_numpy(dtype=np.float64)
        if np.unique(times).size != times.size:
            skipped[song_id] = "two annotation rows at the same time"
            continue
        order = np.argsort(times, kind="stable")
        values = {name: group[col].to_numpy(dtype=np.float64)[order] for name, col in value_columns.items()}
        series[song_id] = (times[order], values)
    return series, skipped


def values_at(
    times: np.ndarray, *, source_times: np.ndarray | None, source_values: np.ndarray | None
) -> np.ndarray | None:
    """``source_values`` at the instants ``times``, or None unless every instant is in ``source_times``.

    Used to attach std series that were read apart from their means: a std
    on a different grid is dropped rather than silently misaligned.
    """
    if source_times is None or source_values is None:
        return None
    index = {round(float(t), 6): i for i, t in enumerate(source_times)}
    positions = [index.get(round(float(t), 6)) for t in times]
    if any(p is None for p in positions):
        return None
    return np.asarray(source_values, dtype=np.float64)[positions]


def finish_load(
    *,
    dataset: str,
    root: Path | None,
    songs: Iterable[SongRecord],
    skipped: Mapping[str, str] | Iterable[SkippedSong],
    require_audio: bool,
) -> DatasetLoad:
    """Apply ``require_audio``, sort songs by id and wrap everything in a :class:`DatasetLoad`."""
    kept: list[SongRecord] = []
    dropped = list(skipped.items()) if isinstance(skipped, Mapping) else [(s.song_id, s.reason) for s in skipped]
    for song in songs:
        if require_audio and song.audio_path is None:
            dropped.append((song.song_id, NO_AUDIO))
        else:
            kept.append(song)
    kept.sort(key=lambda s: song_sort_key(s.song_id))
    dropped.sort(key=lambda item: song_sort_key(item[0]))
    return DatasetLoad(
        dataset=dataset,
        root=root,
        songs=kept,
        skipped=[SkippedSong(song_id=i, reason=r) for i, r in dropped],
    )
