"""``python -m memo_core <command>``: thin commands over one library call each.

Every command catches :class:`~memo_core.errors.MemoError` and prints its
message (no traceback) with exit status 2, so a user sees what went wrong and
what to do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Sequence

from .errors import MemoError

__all__ = ["main", "build_parser", "AUDIO_SUFFIXES"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


# --------------------------------------------------------------------------- commands


def cmd_synth(args: argparse.Namespace) -> int:
    from .data import synth

    out = synth.generate_corpus(
        Path(args.out),
        n_songs=args.n_songs,
        seed=args.seed,
        duration_s=args.duration,
        workers=args.workers,
        progress=not args.quiet,
    )
    print(f"synthetic corpus of {args.n_songs} songs written to {out}")
    return 0


def cmd_features(args: argparse.Namespace) -> int:
    from .features import get_extractor, list_features

    print(f"{'name':<14}{'n_features':>11}{'frame (s)':>11}")
    for name in list_features():
        ex = get_extractor(name)
        print(f"{name:<14}{ex.n_features:>11}{ex.frame_seconds:>11.4g}")
    return 0


def _audio_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    raise MemoError(f"{path} does not exist. Give an audio file or a folder of audio files.")


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cmd_extract(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from .audio import load_audio
    from .features import extract, frame_times, get_extractor

    extractor = get_extractor(args.features)
    files = _audio_files(Path(args.audio))
    if not files:
        raise MemoError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {args.audio}.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write(out / f"{extractor.name}.spec.json", lambda p: p.write_text(json.dumps(extractor.spec(), indent=2)))
    failed: list[tuple[Path, str]] = []
    root = Path(args.audio) if Path(args.audio).is_dir() else Path(args.audio).parent
    for path in tqdm(files, desc=f"extract {extractor.name}", unit="file", disable=args.quiet):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio = load_audio(path, max_duration_s=args.max_duration)
            feats = extract(audio, extractor.name, cache=not args.no_cache)
        except MemoError as exc:
            failed.append((path, str(exc)))
            continue
        stem = path.relative_to(root).with_suffix("")
        target = out / stem.parent / f"{stem.name}.{extractor.name}"
        _atomic_write(target.with_suffix(target.suffix + ".npy"), lambda p: np.save(p, feats))
        if args.csv:
            frame = pd.DataFrame(feats, columns=extractor.feature_names)
            frame.insert(0, "time_s", frame_times(len(feats), extractor.frame_seconds))
            _atomic_write(
                target.with_suffix(target.suffix + ".csv"), lambda p: frame.to_csv(p, index=False, float_format="%.6g")
            )
    print(f"{len(files) - len(failed)} of {len(files)} files -> {out} ({extractor.n_features} features per frame)")
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if failed and len(failed) == len(files) else 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from .data import list_datasets, load_dataset

    if not args.dataset:
        print("datasets: " + ", ".join(list_datasets()))
        print("show one with: python -m memo_core datasets --dataset NAME --root PATH")
        return 0
    load = load_dataset(args.dataset, Path(args.root) if args.root else None, require_audio=args.require_audio)
    print(load.summary())
    if args.list:
        for song in load.songs:
            print(
                f"{song.song_id}\t{song.split or '-'}\t{song.n_frames} frames\t"
                f"{'audio' if song.has_audio else 'no audio'}\t{','.join(song.tags)}"
            )
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from .data import synth
    from .data.synth_transfer import format_transfer_report, transfer_report

    corpus = Path(args.corpus) if args.corpus else synth.ensure_corpus(progress=not args.quiet)
    shared = Path(args.shared)
    if not shared.is_dir():
        raise MemoError(f"{shared} does not exist: give the folder of real clips and annotations with --shared.")
    report = transfer_report(corpus, shared, progress=not args.quiet, feature_set=args.features)
    print(format_transfer_report(report))
    if args.json:
        _atomic_write(Path(args.json), lambda p: p.write_text(json.dumps(report, indent=2, default=float)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .features.bench import format_bench_table, run_feature_bench

    names = args.features.split(",") if args.features else None
    durations = tuple(float(d) for d in args.durations.split(","))
    rows = run_feature_bench(durations=durations, names=names, progress=not args.quiet)
    print(format_bench_table(rows))
    if args.json:
        _atomic_write(Path(args.json), lambda p: p.write_text(json.dumps(rows, indent=2)))
        print(f"written {args.json}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m memo_core",
        description="MEMO: explainable dynamic music emotion recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        return p

    p = add("synth", cmd_synth, "render the synthetic emotion corpus (audio + annotations + tags)")
    p.add_argument("--out", required=True, help="folder to write the corpus to")
    p.add_argument("--n-songs", type=int, default=150, help="number of songs (default 150)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same corpus)")
    p.add_argument("--duration", type=float, default=45.0, help="seconds per song (default 45)")
    p.add_argument("--workers", type=int, default=None, help="render processes (default: all cores)")

    add("features", cmd_features, "list the feature extractors")

    p = add("extract", cmd_extract, "extract features from an audio file or a folder of audio files")
    p.add_argument("--features", required=True, help="extractor name (see `features`)")
    p.add_argument("audio", metavar="AUDIO_OR_DIR", help="an audio file or a folder (searched recursively)")
    p.add_argument("--out", required=True, help="output folder: one NAME.FEATURES.npy per file, plus the spec JSON")
    p.add_argument("--csv", action="store_true", help="also write a CSV with time_s and named feature columns")
    p.add_argument("--no-cache", action="store_true", help="recompute even if the feature cache has the result")
    p.add_argument("--max-duration", type=float, default=20 * 60, help="refuse files longer than this (s)")

    p = add("datasets", cmd_datasets, "list the dataset loaders, or read one dataset folder and report")
    p.add_argument("--dataset", help="loader name (synth, deam, emomusic, pmemo, mtg_jamendo, generic)")
    p.add_argument("--root", help="the dataset's top folder (synth: default corpus location)")
    p.add_argument("--require-audio", action="store_true", help="skip songs without an audio file")
    p.add_argument("--list", action="store_true", help="print one line per song")

    p = add("transfer", cmd_transfer, "train ridge on the synthetic corpus, test on real clips (Pearson r)")
    p.add_argument("--corpus", help="synthetic corpus folder (default: the default corpus, rendered if missing)")
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
                   help="folder with the real emoMusic/PMEmo clips and annotations (default ../shared/data)")
    p.add_argument("--features", default="deam260", help="500 ms feature set the ridge models see (default deam260)")
    p.add_argument("--json", help="also write the report as JSON here")

    p = add("bench", cmd_bench, "time each feature extractor cold and from cache")
    p.add_argument("--durations", default="30,240", help="audio lengths in seconds, comma-separated")
    p.add_argument("--features", help="comma-separated extractor names (default: all)")
    p.add_argument("--json", help="also write the rows as JSON here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except MemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
