"""Commands over audio and datasets: ``synth``, ``features``, ``extract``, ``datasets``, ``transfer``."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from memo_core.audio import load_audio
from memo_core.cli._common import _audio_inputs, _file_warnings, _options
from memo_core.data import list_datasets, load_dataset, synth
from memo_core.errors import MemoError
from memo_core.experiments.transfer import format_transfer_report, transfer_report
from memo_core.features import extract, frame_times, get_extractor, list_features
from memo_core.fileio import atomic_write


def cmd_synth(args: argparse.Namespace) -> int:

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

    print(f"{'name':<14}{'n_features':>11}{'frame (s)':>11}")
    for name in list_features():
        ex = get_extractor(name)
        print(f"{name:<14}{ex.n_features:>11}{ex.frame_seconds:>11.4g}")
    return 0



def cmd_extract(args: argparse.Namespace) -> int:


    extractor = get_extractor(args.features)
    inputs = _audio_inputs(args.audio)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{extractor.name}.spec.json", lambda h: h.write(json.dumps(extractor.spec(), indent=2)))
    failed: list[tuple[Path, str]] = []
    for path, stem in tqdm(inputs, desc=f"extract {extractor.name}", unit="file", disable=args.quiet):
        try:
            with _file_warnings(path):
                audio = load_audio(path, max_duration_s=args.max_duration)
                feats = extract(audio, extractor.name, cache=not args.no_cache)
        except MemoError as exc:
            failed.append((path, str(exc)))
            continue
        target = out / stem.parent / f"{stem.name}.{extractor.name}"
        atomic_write(target.with_suffix(target.suffix + ".npy"), lambda h: np.save(h, feats), binary=True)
        if args.csv:
            frame = pd.DataFrame(feats, columns=extractor.feature_names)
            frame.insert(0, "time_s", frame_times(len(feats), extractor.frame_seconds))
            atomic_write(
                target.with_suffix(target.suffix + ".csv"), lambda h: frame.to_csv(h, index=False, float_format="%.6g")
            )
    print(f"{len(inputs) - len(failed)} of {len(inputs)} files -> {out} ({extractor.n_features} features per frame)")
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if failed and len(failed) == len(inputs) else 0



def cmd_datasets(args: argparse.Namespace) -> int:

    if not args.dataset:
        print("datasets: " + ", ".join(list_datasets()))
        print("show one with: python -m memo_core datasets --dataset NAME --root PATH")
        return 0
    load = load_dataset(args.dataset, Path(args.root) if args.root else None, require_audio=args.require_audio,
                        **_options(args.option))
    print(load.summary())
    quadrants = Counter(s.meta.get("quadrant") for s in load.songs if s.meta.get("quadrant"))
    if quadrants:
        groups = {s.meta.get("group") for s in load.songs if s.meta.get("group")}
        print("quadrants: " + ", ".join(f"{q} {n}" for q, n in sorted(quadrants.items()))
              + (f"; {len(groups)} artists/groups (the split key)" if groups else ""))
    if args.list:
        for song in load.songs:
            extra = "".join(f"\t{song.meta[k]}" for k in ("quadrant", "artist") if song.meta.get(k))
            print(
                f"{song.song_id}\t{song.split or '-'}\t{song.n_frames} frames\t"
                f"{'audio' if song.has_audio else 'no audio'}{extra}\t{','.join(song.tags)}"
            )
    return 0



def cmd_transfer(args: argparse.Namespace) -> int:

    corpus = Path(args.corpus) if args.corpus else synth.ensure_corpus(progress=not args.quiet)
    shared = Path(args.shared)
    if not shared.is_dir():
        raise MemoError(f"{shared} does not exist: give the folder of real clips and annotations with --shared.")
    report = transfer_report(corpus, shared, progress=not args.quiet, feature_set=args.features)
    print(format_transfer_report(report))
    if args.json:
        atomic_write(Path(args.json), lambda h: h.write(json.dumps(report, indent=2, default=float)))
    return 0
