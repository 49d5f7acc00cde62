"""Readers and checks shared by the dataset loaders (private to :mod:`memo_core.data`).

The public datasets share a few table shapes: the "wide" per-song rows of
DEAM, emoMusic and the synthetic corpus (``song_id,sample_15000ms,...``), the
"long" frame rows of PMEmo and the generic layout (``song_id,time,value``), and
small per-song tables with untidy headers. Each shape is read once, here, and
every reader reports bad songs as ``{song_id: reason}`` instead of raising, so
a loader can put them into :attr:`DatasetLoad.skipped`.

Annotation values are checked against the scale each dataset declares
(:func:`scale_bounds`): a value that is not a finite number or lies outside
the scale is never kept. A few such rows are dropped and reported with their
count and first examples (:class:`DropLog`, then :attr:`DatasetLoad.dropped`);
a file where most rows are invalid is on another scale (or is not the
dataset's file) and is refused with a :class:`DatasetError`.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from memo_core.data.records import DatasetLoad, DroppedValues, InvalidAnnotationsWarning, SkippedSong, SongRecord
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
    "scale_bounds",
    "outside_bounds",
    "bounds_text",
    "DropLog",
    "refuse_if_mostly_invalid",
    "missing_id",
    "MAX_TIME_S",
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


#: Rounding in published files puts values a hair past a scale's ends: this share of the half-width is allowed.
SCALE_TOLERANCE = 1e-6
#: An annotation instant later than this (seconds) is not a time in any recording: 24 hours.
MAX_TIME_S = 24 * 3600.0
#: Examples kept per file and reason in a :class:`DropLog`.
N_EXAMPLES = 3
_MISSING_IDS = ("", "nan", "na", "n/a")


def scale_bounds(scale: str, *, spread: bool = False) -> tuple[float, float]:
    """The ends of ``scale`` (a :data:`SCALES` name): ``(-1, 1)``, ``(0, 1)``, ``(1, 9)``.

    With ``spread=True``, the range of a spread (std over raters) of values on
    that scale: from 0 to half the scale's width (``(0, 4)`` for 1-9).
    """
    offset, factor = SCALES[scale]
    half = 1.0 / factor
    return (0.0, half) if spread else (offset - half, offset + half)


def outside_bounds(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """True where a value is not a finite number or lies outside ``bounds`` (allowing rounding)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = bounds
    tolerance = SCALE_TOLERANCE * (high - low) / 2
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(values) | (values < low - tolerance) | (values > high + tolerance)


def bounds_text(bounds: tuple[float, float]) -> str:
    return f"[{bounds[0]:g}, {bounds[1]:g}]"


def _bad_value_reason(value: float, bounds: tuple[float, float]) -> str:
    return "not a finite number" if not np.isfinite(value) else f"outside the scale {bounds_text(bounds)}"


def missing_id(value: object) -> bool:
    """True for an empty song id (an empty cell, or ``nan``/``NA`` text): never a song called "nan"."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip().lower() in _MISSING_IDS


class DropLog:
    """The invalid values a loader left out, per file, reason and action, with the first examples."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], list] = {}

    def add(self, file: str, reason: str, example: str, *, action: str = "rows dropped", count: int = 1) -> None:
        entry = self._entries.setdefault((file, reason, action), [0, []])
        entry[0] += count
        if len(entry[1]) < N_EXAMPLES:
            entry[1].append(example)

    def __bool__(self) -> bool:
        return bool(self._entries)

    def extend(self, other: DropLog, *, reason_starts: str = "") -> None:
        """Add ``other``'s entries whose reason starts with ``reason_starts``."""
        for (file, reason, action), (count, examples) in other._entries.items():
            if reason.startswith(reason_starts):
                entry = self._entries.setdefault((file, reason, action), [0, []])
                entry[0] += count
                entry[1].extend(examples[: N_EXAMPLES - len(entry[1])])

    def entries(self) -> list[DroppedValues]:
        return [DroppedValues(file=f, reason=r, count=n, action=a, examples=tuple(ex))
                for (f, r, a), (n, ex) in self._entries.items()]


def refuse_if_mostly_invalid(
    *, dataset: str, path: Path, n_invalid: int, n_total: int, what: str, examples: Iterable[str], hint: str
) -> None:
    """A DatasetError when more than half of a file's ``what`` (rows, values) are invalid.

    A few bad rows are dropped and reported; a file where most are bad is on
    another scale (1-9 ratings read as [-1, 1]) or is not the dataset's file,
    and loading what is left of it would be a silently wrong result.
    """
    if n_invalid and 2 * n_invalid > n_total:
        first = "; ".join(list(examples)[:N_EXAMPLES])
        raise DatasetError(
            f"{dataset}: {n_invalid} of the {n_total} {what} of {path} are invalid (first: {first}); nothing was "
            f"loaded: a file where most {what} are invalid is on another scale or is not the dataset's file. {hint}"
        )


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


def read_wide_csv(
    path: Path,
    *,
    dataset: str,
    bounds: tuple[float, float] | None = None,
    log: DropLog | None = None,
    action: str = "songs skipped",
    hint: str = "",
) -> WideTable:
    """Read a ``song_id,sample_15000ms,sample_15500ms,...`` file.

    Rows shorter than the header or ending in empty cells give shorter series
    (DEAM's full-length songs); a row with an empty cell *inside* its series,
    a non-numeric cell or more cells than the header is skipped with a reason.
    So is a row with a value that is not finite (``inf``, ``1e400``) or lies
    outside ``bounds``; those are also written to ``log`` with examples.

    Args:
        path: the CSV file.
        dataset: the loader name, for error messages.
        bounds: the scale the values must lie on, e.g. ``(-1, 1)``; None: any finite value.
        log: where rows with invalid values are reported.
        action: what a bad row costs, for the report (``"songs skipped"``, ``"std rows dropped"``).
        hint: what to do, appended to the error for a file that is mostly invalid.

    Returns:
        The table; ``frame_times`` are parsed from the column names in seconds.

    Raises:
        DatasetError: the file is not a UTF-8 CSV, its header is not
            ``song_id`` followed by ``sample_<ms>ms`` columns, or more than
            half of its rows hold invalid values (a file on another scale).
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
    n_rows, invalid = 0, []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        song_id = clean_id(row[0])
        if missing_id(song_id):
            n_rows += 1
            invalid.append(("row without a song id", f"line {line}: song_id {row[0].strip()!r}"))
            continue
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
        n_rows += 1
        bad = outside_bounds(values, bounds) if bounds is not None else ~np.isfinite(values)
        if bad.any():
            i = int(np.argmax(bad))
            reason = _bad_value_reason(values[i], bounds or (-np.inf, np.inf))
            table.skipped[song_id] = (
                "non-numeric annotation value" if reason == "not a finite number" else f"annotation value {reason}"
            )
            invalid.append((f"value {reason}", f"song {song_id} at {table.frame_times[i]:g} s: {values[i]:g}"))
            continue
        table.series[song_id] = values
    refuse_if_mostly_invalid(
        dataset=dataset, path=path, n_invalid=len(invalid), n_total=n_rows, what="annotation rows",
        examples=[example for _, example in invalid],
        hint=hint or (f"Its values should be on {bounds_text(bounds)}." if bounds is not None else ""),
    )
    if log is not None:
        for reason, example in invalid:
            log.add(Path(path).name, reason, example, action=action)
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
    path: Path,
    *,
    dataset: str,
    columns: Mapping[str, str],
    scale: str,
    id_column: str = "song_id",
    log: DropLog | None = None,
) -> dict[str, dict[str, float]]:
    """Song-level ratings: ``song_id -> {name: value in [-1, 1] units}``.

    Args:
        path: the table (header names are stripped of stray spaces).
        dataset: the loader name, for error messages.
        columns: output name -> column; names ending in ``_std`` are spreads
            (mapped with the scale's width only), the others means.
        scale: the ratings' scale, a :data:`SCALES` name.
        id_column: the song id column.
        log: where values left out as invalid are reported.

    Returns:
        Per song, the values it has: an empty or non-numeric cell ("NA") gives
        no entry for that value, not an error; nor does a value that is not
        finite or lies off the scale (a spread: below 0 or over half the
        scale's width), which is also reported to ``log``. Rows without a
        song id are left out and reported.

    Raises:
        DatasetError: the id column or a mean column is missing, the file is
            not a UTF-8 CSV, or more than half of a column's values are off the
            scale (a file on another scale).
    """
    frame = read_table(path, dataset=dataset)
    check_columns(frame, [id_column, *(c for k, c in columns.items() if not k.endswith("_std"))],
                  path=path, dataset=dataset)
    out: dict[str, dict[str, float]] = {}
    numeric = {k: pd.to_numeric(frame[c], errors="coerce") for k, c in columns.items() if c in frame.columns}
    bounds = {k: scale_bounds(scale, spread=k.endswith("_std")) for k in numeric}
    has_id = ~frame[id_column].map(missing_id).to_numpy(dtype=bool)
    invalid: list[tuple[str, str]] = [
        ("row without a song id", f"data row {i + 1}") for i in np.flatnonzero(~has_id)
        if any(pd.notna(column.iloc[i]) for column in numeric.values())
    ]
    for key, column in numeric.items():
        values = column.to_numpy(dtype=np.float64)
        present = has_id & ~np.isnan(values)
        bad = present & outside_bounds(values, bounds[key])
        name = columns[key]
        refuse_if_mostly_invalid(
            dataset=dataset, path=path, n_invalid=int(bad.sum()), n_total=int(present.sum()),
            what=f"values of the column {name!r}",
            examples=[f"song {clean_id(frame[id_column].iloc[i])}: {values[i]:g}" for i in np.flatnonzero(bad)],
            hint=f"Its values should be on {bounds_text(bounds[key])} (scale {scale}).",
        )
        invalid += [(f"{name} {_bad_value_reason(values[i], bounds[key])}",
                     f"song {clean_id(frame[id_column].iloc[i])}: {values[i]:g}") for i in np.flatnonzero(bad)]
        numeric[key] = column.where(~bad)
    for position, raw_id in enumerate(frame[id_column]):
        if not has_id[position]:
            continue
        values: dict[str, float] = {}
        for key, column in numeric.items():
            value = column.iloc[position]
            if pd.notna(value):
                mapped = spread_to_unit_scale(value, scale) if key.endswith("_std") else to_unit_scale(value, scale)
                values[key] = float(mapped)
        out[clean_id(raw_id)] = values
    if log is not None:
        for reason, example in invalid:
            log.add(Path(path).name, reason, example, action="values left out")
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
    bounds: Mapping[str, tuple[float, float]] | None = None,
    log: DropLog | None = None,
    path: Path | None = None,
    dataset: str = "",
    hint: str = "",
    report_missing: bool = True,
) -> tuple[dict[str, tuple[np.ndarray, dict[str, np.ndarray]]], dict[str, str]]:
    """Group a long ``song, time, value...`` table into one series per song.

    Rows with a missing time or value are dropped (a frame lost, not the song),
    and so are rows that are invalid: no song id (never a song called "nan"),
    a time that is not finite, negative or past :data:`MAX_TIME_S`, or a value
    that is not finite or lies outside its ``bounds``. Frames are sorted by
    time. Exact copies of a row (same song, time and values) are dropped; a
    song with two *different* rows at the same instant is skipped, since there
    is no right way to choose between them. Everything dropped is reported to
    ``log`` with its count and first examples.

    Args:
        frame: the table, cells as strings or numbers.
        id_column: the song id column.
        time_column: the time column, in seconds.
        value_columns: output name -> column name (e.g. ``{"valence": "Valence(mean)"}``).
        bounds: output name -> the scale its values must lie on; absent names: any finite value.
        log: where dropped rows are reported.
        path: the file, for the report and errors.
        dataset: the loader name, for errors.
        hint: what to do, appended to the error for a file that is mostly invalid.
        report_missing: report rows with an empty or non-numeric cell (False for
            optional columns, whose empty cells are normal).

    Returns:
        ``({song_id: (frame_times, {name: values})}, {song_id: reason})``; every
        array has shape (n_frames,).

    Raises:
        DatasetError: more than half of the rows are invalid (a file on another
            scale, or times that are not seconds), when ``path`` is given.
    """
    bounds = dict(bounds or {})
    columns = [time_column, *value_columns.values()]
    numeric = frame[columns].apply(pd.to_numeric, errors="coerce")
    raw_ids = frame[id_column]
    no_id = raw_ids.map(missing_id).to_numpy(dtype=bool)
    ids = np.asarray([clean_id(i) for i in raw_ids], dtype=object)
    incomplete = numeric.isna().any(axis=1).to_numpy() & ~no_id
    times = numeric[time_column].to_numpy(dtype=np.float64)
    reasons = np.full(len(frame), None, dtype=object)
    examples = np.full(len(frame), None, dtype=object)
    checked = ~no_id & ~incomplete

    def flag(mask: np.ndarray, reason: str, describe) -> None:
        mask = mask & checked & (reasons == None)  # noqa: E711 (element-wise)
        for i in np.flatnonzero(mask):
            reasons[i] = reason
            examples[i] = describe(i)

    with np.errstate(invalid="ignore"):
        flag(~np.isfinite(times), f"{time_column} not a finite number",
             lambda i: f"song {ids[i]}: {time_column} {times[i]:g}")
        flag(times < -1e-6, f"negative {time_column}", lambda i: f"song {ids[i]}: {time_column} {times[i]:g}")
        flag(times > MAX_TIME_S, f"{time_column} past {MAX_TIME_S / 3600:g} hours (not a time in a recording)",
             lambda i: f"song {ids[i]}: {time_column} {times[i]:g}")
    for name, column in value_columns.items():
        values = numeric[column].to_numpy(dtype=np.float64)
        limits = bounds.get(name, (-np.inf, np.inf))
        def describe(i, v=values, c=column):
            return f"song {ids[i]} at {times[i]:g} s: {c} {v[i]:g}"

        flag(~np.isfinite(values), f"{column} not a finite number", describe)
        flag(outside_bounds(values, limits), f"{column} outside the scale {bounds_text(limits)}", describe)
    invalid = reasons != None  # noqa: E711 (element-wise)
    line_of = [f"data row {i + 1}" for i in np.flatnonzero(no_id) if not numeric.iloc[i].isna().all()]
    if path is not None:
        refuse_if_mostly_invalid(
            dataset=dataset, path=path, n_invalid=int(invalid.sum()) + len(line_of),
            n_total=int(checked.sum()) + len(line_of), what="rows",
            examples=[f"{line} (no song id)" for line in line_of] + [f"{examples[i]} ({reasons[i]})" for i in np.flatnonzero(invalid)], hint=hint,
        )
    where = Path(path).name if path is not None else "annotations"
    if log is not None:
        for example in line_of:
            log.add(where, "row without a song id", example)
        if report_missing:
            for i in np.flatnonzero(incomplete):
                empty = [c for c in columns if pd.isna(numeric[c].iloc[i])]
                log.add(where, "empty or non-numeric cell", f"song {ids[i]}: {', '.join(empty)}")
        for i in np.flatnonzero(invalid):
            log.add(where, reasons[i], examples[i])
    keep = checked & ~invalid
    kept = numeric[keep].copy()
    kept.insert(0, "_id", ids[keep])
    series: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    skipped: dict[str, str] = {}
    with_rows = set(kept["_id"])
    with_invalid = set(ids[invalid])
    for song_id in pd.unique(ids[~no_id]):
        if song_id not in with_rows:
            skipped[song_id] = "no valid annotation row" if song_id in with_invalid else "no complete annotation row"
    for song_id, group in kept.groupby("_id", sort=False):
        copies = group.duplicated(keep="first").to_numpy()
        if log is not None:
            for i in np.flatnonzero(copies):
                log.add(where, "copy of an earlier row (same song, time and values)",
                        f"song {song_id} at {group[time_column].iloc[i]:g} s")
        group = group[~copies]
        song_times = group[time_column].to_numpy(dtype=np.float64)
        if np.unique(song_times).size != song_times.size:
            skipped[song_id] = "two annotation rows at the same time"
            if log is not None:
                clash = song_times[np.flatnonzero(pd.Series(song_times).duplicated().to_numpy())[0]]
                log.add(where, "two different rows at the same time", f"song {song_id} at {clash:g} s",
                        action="songs skipped")
            continue
        order = np.argsort(song_times, kind="stable")
        values = {name: group[col].to_numpy(dtype=np.float64)[order] for name, col in value_columns.items()}
        series[song_id] = (song_times[order], values)
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
    invalid: DropLog | Iterable[DroppedValues] | None = None,
) -> DatasetLoad:
    """Apply ``require_audio``, sort songs by id and wrap everything in a :class:`DatasetLoad`.

    ``invalid`` (the values left out as invalid) goes to :attr:`DatasetLoad.dropped`
    and, when there are any, into one :class:`InvalidAnnotationsWarning` that
    counts them per file and reason, so that a command that does not print the
    load's summary still shows them.
    """
    kept: list[SongRecord] = []
    dropped = list(skipped.items()) if isinstance(skipped, Mapping) else [(s.song_id, s.reason) for s in skipped]
    for song in songs:
        if require_audio and song.audio_path is None:
            dropped.append((song.song_id, NO_AUDIO))
        else:
            kept.append(song)
    kept.sort(key=lambda s: song_sort_key(s.song_id))
    dropped.sort(key=lambda item: song_sort_key(item[0]))
    entries = invalid.entries() if isinstance(invalid, DropLog) else list(invalid or [])
    if entries:
        warnings.warn(f"{dataset}: invalid annotation rows or values left out: "
                      + "; ".join(entry.describe() for entry in entries)
                      + ". The rest was loaded; fix or remove these rows to use them.",
                      InvalidAnnotationsWarning, stacklevel=3)
    return DatasetLoad(
        dataset=dataset,
        root=root,
        songs=kept,
        skipped=[SkippedSong(song_id=i, reason=r) for i, r in dropped],
        dropped=entries,
    )
