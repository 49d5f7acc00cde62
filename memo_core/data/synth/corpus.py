"""The synthetic corpus on disk: one song designed, rendered and rated, then the corpus written and checked.

:func:`generate_corpus` writes songs whose valence and arousal are known at
every moment, so MEMO can be trained, tested and demonstrated with no dataset
(read back by :mod:`memo_core.data.synth_loader`); :func:`ensure_corpus`
returns a complete one, rendering it if needed, under a lock so that
concurrent callers render once; :func:`is_complete_corpus` checks one.

Everything is drawn from ``numpy.random.default_rng([seed, song_index])``, so a
corpus is byte-identical for a seed whatever the number of worker processes.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from memo_core.audio import FRAME_SECONDS
from memo_core.data.synth.design import (
    _CONTRAST_SHARE,
    _NOTE_NAMES,
    _RATER_STD,
    _SONG_R,
    design_song,
    sample_style,
)
from memo_core.data.synth.raters import TAG_VOCABULARY, _rate, _tags
from memo_core.data.synth.render import SAMPLE_RATE, render_audio
from memo_core.errors import DatasetError
from memo_core.features.base import annotation_frame_index

__all__ = [
    "CORPUS_NAME",
    "CORPUS_VERSION",
    "ANNOTATION_START_S",
    "generate_corpus",
    "default_corpus_dir",
    "ensure_corpus",
    "is_complete_corpus",
]


CORPUS_NAME = "memo-synth"
#: 2: each annotation describes the frame ending at its instant (1 paired it with the frame starting there).
CORPUS_VERSION = 2
ANNOTATION_START_S = 15.0


def _annotation_times(duration_s: float, annotation_start_s: float) -> np.ndarray:
    """2 Hz instants from the annotation start to the end, inclusive (emoMusic: 61 for 45 s)."""
    n = int(math.floor(round((duration_s - annotation_start_s) / FRAME_SECONDS, 6))) + 1
    return annotation_start_s + FRAME_SECONDS * np.arange(n)


def _make_song(seed: int, index: int, duration_s: float, annotation_start_s: float, contrast_share: float,
               audio_dir: str) -> dict[str, Any]:
    """Design, render and rate song ``index`` (0-based); writes its FLAC, returns its rows."""
    rng = np.random.default_rng([seed, index])
    design = design_song(rng, duration_s=duration_s, contrast_share=contrast_share)
    style = sample_style(rng, mean_arousal=float(design.arousal.mean()))
    samples, info = render_audio(design, style, rng, duration_s=duration_s)
    song_id = str(index + 1)
    path = Path(audio_dir) / f"{song_id}.flac"
    sf.write(str(path), samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")

    times = _annotation_times(duration_s, annotation_start_s)
    # The rating at t is what a rater heard up to t: the smoother's state after the frame ending at t.
    idx = annotation_frame_index(times, len(design.arousal))
    n_raters = int(rng.integers(5, 8))
    rows: dict[str, Any] = {"song_id": song_id}
    static = {}
    z_a, z_v = rng.standard_normal((2, n_raters))
    bias_z = {"arousal": z_a, "valence": _SONG_R * z_a + math.sqrt(1 - _SONG_R**2) * z_v}
    for dim, d, std in (("arousal", design.arousal, _RATER_STD[0]), ("valence", design.valence, _RATER_STD[1])):
        ratings = _rate(rng, d, bias_z=bias_z[dim], rater_std=std)
        rows[f"{dim}_mean"] = ratings[:, idx].mean(axis=0)
        rows[f"{dim}_std"] = ratings[:, idx].std(axis=0, ddof=1)
        # Song-level ratings: each rater's overall impression of the whole excerpt.
        overall = np.clip(ratings.mean(axis=1) + rng.normal(0, 0.08, n_raters), -1, 1)
        static[dim] = (5 + 4 * overall.mean(), 4 * overall.std(ddof=1))
    modes = info["modes"]
    mode = modes[0] if len(set(modes)) == 1 else "mixed"
    rows["static"] = static
    rows["design"] = (design.arousal, design.valence)
    rows["info"] = {
        "song_id": song_id,
        "file_name": f"{song_id}.flac",
        "tags": ";".join(_tags(design, style, modes)),
        "tempo_bpm": round(design.tempo_bpm, 2),
        "key": _NOTE_NAMES[style.tonic],
        "mode": mode,
        "programs": " ".join(f"{k}={v}" for k, v in style.programs.items()),
        "drum_kit": style.drum_kit,
        "contrast": int(design.contrast),
        "n_raters": n_raters,
        "n_notes": info["n_notes"],
        "design_mean_arousal": round(float(design.arousal.mean()), 4),
        "design_mean_valence": round(float(design.valence.mean()), 4),
        "reverb_rt60": round(style.reverb_rt60, 3),
        "reverb_wet": round(style.reverb_wet, 3),
        "tilt_db": round(style.tilt_db, 2),
        "comp_ratio": round(style.comp_ratio, 2),
        "gain_db": round(style.gain_db, 2),
        "noise_db": round(style.noise_db, 1),
    }
    return rows


def _splits(n_songs: int, seed: int) -> list[str]:
    """A deterministic ~70/15/15 train/validation/test split by song."""
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(n_songs)
    n_val = int(round(0.15 * n_songs))
    n_test = int(round(0.15 * n_songs))
    if n_songs >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    split = ["train"] * n_songs
    for i in order[:n_val]:
        split[i] = "validation"
    for i in order[n_val:n_val + n_test]:
        split[i] = "test"
    return split


def _fmt(x: float) -> str:
    """Four decimals, without a negative zero."""
    s = f"{x:.4f}"
    return "0.0000" if s == "-0.0000" else s


def _write_wide(path: Path, songs: list[dict], key: str, times: np.ndarray) -> None:
    header = ["song_id"] + [f"sample_{int(round(t * 1000))}ms" for t in times]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for s in songs:
            w.writerow([s["song_id"]] + [_fmt(v) for v in s[key]])


def _write_corpus_files(root: Path, songs: list[dict], meta: dict, splits: list[str], times: np.ndarray) -> None:
    ann = root / "annotations"
    for dim in ("arousal", "valence"):
        _write_wide(ann / f"{dim}_cont_average.csv", songs, f"{dim}_mean", times)
        _write_wide(ann / f"{dim}_cont_std.csv", songs, f"{dim}_std", times)
    with open(ann / "static_annotations.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["song_id", "mean_arousal", "std_arousal", "mean_valence", "std_valence"])
        for s in songs:
            (ma, sa), (mv, sv) = s["static"]["arousal"], s["static"]["valence"]
            w.writerow([s["song_id"], _fmt(ma), _fmt(sa), _fmt(mv), _fmt(sv)])
    info_rows = [dict(s["info"], split=splits[i]) for i, s in enumerate(songs)]
    fields = ["song_id", "file_name", "split"] + [k for k in info_rows[0] if k not in ("song_id", "file_name", "split")]
    with open(ann / "songs_info.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(info_rows)
    with open(ann / "design.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["song_id", "time_s", "valence", "arousal"])
        for s in songs:
            a, v = s["design"]
            for i in range(len(a)):
                w.writerow([s["song_id"], f"{i * FRAME_SECONDS:.1f}", _fmt(v[i]), _fmt(a[i])])
    (root / "corpus.json").write_text(json.dumps(meta, indent=2) + "\n")


def generate_corpus(out_dir: str | os.PathLike, *, n_songs: int = 150, seed: int = 0, duration_s: float = 45.0,
                    annotation_start_s: float = ANNOTATION_START_S, workers: int | None = None,
                    progress: bool = True, progress_callback: Callable[[int, int], None] | None = None,
                    overwrite: bool = False, contrast_share: float = _CONTRAST_SHARE) -> Path:
    """Render a synthetic emotion corpus.

    Layout (read by :mod:`memo_core.data.synth_loader`)::

        out_dir/corpus.json                 name, version, seed, n_songs, duration_s, sample_rate,
                                            annotation_start_s, frame_seconds, tags, splits
        out_dir/audio/{song_id}.flac        mono 44.1 kHz, song_id "1" .. str(n_songs)
        out_dir/annotations/{arousal,valence}_cont_{average,std}.csv   wide, as emoMusic
        out_dir/annotations/static_annotations.csv   1-9 scale, mean and std over raters
        out_dir/annotations/songs_info.csv  split, tags (';'-separated), rendering choices
        out_dir/annotations/design.csv      song_id,time_s,valence,arousal from 0 s

    The corpus is rendered into a temporary folder beside ``out_dir`` and
    renamed into place when complete, with ``corpus.json`` written last, so an
    interrupted run never leaves a corpus that looks complete; a lock file
    beside it (``.{name}.lock``, empty, left in place) keeps two processes from
    rendering it at once. With
    ``workers > 1`` songs render in spawned processes, so a script that calls
    this must guard its entry point with ``if __name__ == "__main__":``.

    Args:
        out_dir: where the corpus goes (created).
        n_songs: number of songs; ids are ``"1"`` .. ``str(n_songs)``.
        seed: the corpus seed; a seed gives byte-identical files whatever
            ``workers`` is.
        duration_s: length of every song in seconds.
        annotation_start_s: first annotated instant (emoMusic and DEAM: 15 s).
        workers: worker processes (default: up to 2, the CPU count); 1 renders
            in this process.
        progress: show a tqdm progress bar.
        progress_callback: called as ``progress_callback(done, total)`` after
            each song (e.g. to drive ``st.progress``).
        overwrite: replace an existing corpus in ``out_dir``.
        contrast_share: share of songs with contrasting sections (0.3; 1.0
            gives every song verse/chorus dynamics, e.g. for tests).

    Returns:
        The corpus folder.

    Raises:
        DatasetError: on bad arguments, or when ``out_dir`` exists and is not
            empty and ``overwrite`` is false.
    """
    out = Path(out_dir).expanduser()
    with _corpus_lock(out):
        return _render_into(out, n_songs=n_songs, seed=seed, duration_s=duration_s,
                            annotation_start_s=annotation_start_s, workers=workers, progress=progress,
                            progress_callback=progress_callback, overwrite=overwrite,
                            contrast_share=contrast_share)


@contextmanager
def _corpus_lock(out: Path):
    """Hold an exclusive lock on ``.{name}.lock`` beside ``out`` (waits for another renderer to finish).

    Two processes (two dashboard sessions, or the CLI beside the dashboard)
    rendering into one folder would swap it out under each other; the lock
    makes the second wait, then find the first one's corpus.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        # lazy: POSIX only; the lock is taken only when a corpus is written
        import fcntl
    except ImportError:   # not POSIX: no cross-process lock
        yield
        return
    with open(out.parent / f".{out.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _render_into(out: Path, *, n_songs: int, seed: int, duration_s: float, annotation_start_s: float,
                 workers: int | None, progress: bool, progress_callback: Callable[[int, int], None] | None,
                 overwrite: bool, contrast_share: float) -> Path:
    """:func:`generate_corpus` once the lock is held."""
    if n_songs < 1:
        raise DatasetError(f"n_songs must be at least 1, got {n_songs}")
    if not annotation_start_s + FRAME_SECONDS <= duration_s <= 20 * 60:  # NaN fails too
        raise DatasetError(f"duration_s must be between {annotation_start_s + FRAME_SECONDS} s and 1200 s, "
                           f"got {duration_s}")
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} is a file, not a folder; choose another corpus folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatasetError(f"{out} exists and is not empty; pass overwrite=True or choose another folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)   # mkdtemp makes it private; a corpus is ordinary data
        (tmp / "audio").mkdir()
        (tmp / "annotations").mkdir()
        songs = _render_all(seed=seed, n_songs=n_songs, duration_s=duration_s,
                            annotation_start_s=annotation_start_s, contrast_share=contrast_share,
                            audio_dir=tmp / "audio",
                            workers=workers, progress=progress, progress_callback=progress_callback)
        splits = _splits(n_songs, seed)
        meta = {
            "name": CORPUS_NAME, "version": CORPUS_VERSION, "seed": seed, "n_songs": n_songs,
            "duration_s": duration_s, "sample_rate": SAMPLE_RATE, "annotation_start_s": annotation_start_s,
            "frame_seconds": FRAME_SECONDS, "tags": list(TAG_VOCABULARY),
            "splits": {name: splits.count(name) for name in ("train", "validation", "test")},
            "contrast_share": contrast_share,
        }
        _write_corpus_files(tmp, songs, meta, splits, _annotation_times(duration_s, annotation_start_s))
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(trash / "corpus")
            tmp.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _render_all(*, seed: int, n_songs: int, duration_s: float, annotation_start_s: float, contrast_share: float,
                audio_dir: Path,
                workers: int | None, progress: bool,
                progress_callback: Callable[[int, int], None] | None) -> list[dict]:
    """Render every song, in a process pool when workers > 1; results in song order."""

    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = max(1, min(int(workers), n_songs))
    args = [(seed, i, duration_s, annotation_start_s, contrast_share, str(audio_dir)) for i in range(n_songs)]
    results: list[dict | None] = [None] * n_songs
    bar = tqdm(total=n_songs, desc="rendering synthetic corpus", unit="song", disable=not progress)
    done = 0

    def finished(i: int, row: dict) -> None:
        nonlocal done
        results[i] = row
        done += 1
        bar.update(1)
        if progress_callback is not None:
            progress_callback(done, n_songs)

    try:
        if workers == 1:
            for i, a in enumerate(args):
                finished(i, _make_song(*a))
        else:
            # spawn: the caller may hold torch or streamlit threads that fork would copy.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_make_song, *a): i for i, a in enumerate(args)}
                for fut in as_completed(futures):
                    finished(futures[fut], fut.result())
    finally:
        bar.close()
    return results  # type: ignore[return-value]


def default_corpus_dir() -> Path:
    """Where the default corpus lives: ``$MEMO_DATA_DIR`` or ``~/.cache/memo/corpus``."""
    env = os.environ.get("MEMO_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "memo" / "corpus"


def is_complete_corpus(path: str | os.PathLike, **expected: Any) -> bool:
    """Whether ``path`` holds a complete synthetic corpus whose corpus.json matches ``expected``.

    Args:
        path: the corpus folder.
        **expected: corpus.json fields that must match (e.g. ``seed=0``).
    """
    root = Path(path).expanduser()
    try:
        meta = json.loads((root / "corpus.json").read_text())
    except (OSError, ValueError):
        return False
    if meta.get("name") != CORPUS_NAME or meta.get("version") != CORPUS_VERSION:
        return False
    for k, v in expected.items():
        if isinstance(v, float) or isinstance(meta.get(k), float):
            if not isinstance(meta.get(k), (int, float)) or abs(float(meta[k]) - float(v)) > 1e-9:
                return False
        elif meta.get(k) != v:
            return False
    n = int(meta.get("n_songs", -1))
    files = [root / "audio" / f"{i}.flac" for i in range(1, n + 1)]
    names = ("arousal_cont_average.csv", "valence_cont_average.csv", "arousal_cont_std.csv",
             "valence_cont_std.csv", "static_annotations.csv", "songs_info.csv", "design.csv")
    return n > 0 and all(f.is_file() for f in files) and all((root / "annotations" / m).is_file() for m in names)


def ensure_corpus(out_dir: str | os.PathLike | None = None, *, n_songs: int = 150, seed: int = 0,
                  duration_s: float = 45.0, annotation_start_s: float = ANNOTATION_START_S,
                  workers: int | None = None, progress: bool = True,
                  progress_callback: Callable[[int, int], None] | None = None) -> Path:
    """Return a complete corpus with these parameters, rendering it if needed.

    An existing synthetic corpus (its corpus.json names ``memo-synth``) with
    other parameters, or left incomplete, is replaced; a folder holding
    anything else is left alone and raises. Rendering holds a lock beside the
    folder, so concurrent callers render once and share the result.

    Args:
        out_dir: the corpus folder (default :func:`default_corpus_dir`).
        n_songs, seed, duration_s, annotation_start_s, workers, progress,
        progress_callback: as for :func:`generate_corpus`.

    Returns:
        The corpus folder.

    Raises:
        DatasetError: ``out_dir`` holds something that is not a synthetic corpus.
    """
    out = Path(out_dir).expanduser() if out_dir is not None else default_corpus_dir()
    params = dict(n_songs=n_songs, seed=seed, duration_s=float(duration_s), annotation_start_s=float(annotation_start_s))
    if is_complete_corpus(out, **params):
        return out
    with _corpus_lock(out):
        if is_complete_corpus(out, **params):   # another process rendered it while we waited
            return out
        if out.exists() and (not out.is_dir() or any(out.iterdir())) and not _is_memo_corpus(out):
            raise DatasetError(f"{out} is not empty and holds no MEMO synthetic corpus; choose another folder")
        return _render_into(out, workers=workers, progress=progress, progress_callback=progress_callback,
                            overwrite=True, contrast_share=_CONTRAST_SHARE, **params)


def _is_memo_corpus(path: Path) -> bool:
    """Whether ``path`` holds a corpus.json written by this module (complete or not, any version)."""
    try:
        meta = json.loads((path / "corpus.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("name") == CORPUS_NAME
