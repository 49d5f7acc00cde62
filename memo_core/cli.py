"""``python -m memo_core <command>``: thin commands over one library call each.

Every command catches :class:`~memo_core.errors.MemoError` and prints its
message (no traceback) with exit status 2, so a user sees what went wrong and
what to do.
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import sys
import warnings
from pathlib import Path
from typing import Sequence

from .errors import MemoError
from .fileio import atomic_write

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


def _audio_inputs(audio: str) -> list[tuple[Path, Path]]:
    """The audio files under ``audio`` with the output stem of each (relative, no suffix).

    Two files that differ only by suffix (song.wav beside song.mp3) keep their
    suffixes in the stem, so no output overwrites another.
    """
    files = _audio_files(Path(audio))
    if not files:
        raise MemoError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {audio}.")
    root = Path(audio) if Path(audio).is_dir() else Path(audio).parent
    stems = [p.relative_to(root).with_suffix("") for p in files]
    if len(set(stems)) < len(stems):
        stems = [p.relative_to(root) for p in files]
    return list(zip(files, stems))


def cmd_extract(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm import tqdm

    from .audio import load_audio
    from .features import extract, frame_times, get_extractor

    extractor = get_extractor(args.features)
    inputs = _audio_inputs(args.audio)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / f"{extractor.name}.spec.json", lambda h: h.write(json.dumps(extractor.spec(), indent=2)))
    failed: list[tuple[Path, str]] = []
    for path, stem in tqdm(inputs, desc=f"extract {extractor.name}", unit="file", disable=args.quiet):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
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
    from .data import list_datasets, load_dataset

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
    from .data import synth
    from .data.synth_transfer import format_transfer_report, transfer_report

    corpus = Path(args.corpus) if args.corpus else synth.ensure_corpus(progress=not args.quiet)
    shared = Path(args.shared)
    if not shared.is_dir():
        raise MemoError(f"{shared} does not exist: give the folder of real clips and annotations with --shared.")
    report = transfer_report(corpus, shared, progress=not args.quiet, feature_set=args.features)
    print(format_transfer_report(report))
    if args.json:
        atomic_write(Path(args.json), lambda h: h.write(json.dumps(report, indent=2, default=float)))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_cli

    return run_cli(args)


def _train_overrides(args: argparse.Namespace) -> dict:
    """TrainConfig fields given on the command line (unset options are left to the model's defaults)."""
    return {
        "max_epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "patience": args.patience,
        "optimizer": args.optimizer, "loss": args.loss, "input_noise_std": args.noise, "seed": args.seed,
        "segment_frames": args.segment_frames, "weight_decay": args.weight_decay, "device": args.device,
    }


def _targets(choice: str) -> tuple[str, ...]:
    return ("valence", "arousal") if choice == "both" else (choice,)


def _epoch_printer(quiet: bool):
    from tqdm.auto import tqdm

    def on_epoch(record: dict) -> None:
        line = (f"epoch {record['epoch']:>3}: train {record['train_loss']:.4f}  val {record['val_loss']:.4f}"
                f"  ({record['seconds']:.1f} s){'  *best' if record['best'] else ''}")
        (print if quiet else tqdm.write)(line)

    return on_epoch


def cmd_train(args: argparse.Namespace) -> int:
    from .evaluate import format_metrics, model_protocol, paper_metrics
    from .train import train_from_dataset

    result, metrics = train_from_dataset(
        args.model, args.preset, dataset=args.dataset, root=_training_root(args), features=args.features,
        targets=_targets(args.target), config_overrides=_train_overrides(args), split_seed=args.split_seed,
        out=args.out, smooth=args.smooth, on_epoch=_epoch_printer(args.quiet), progress=not args.quiet,
        load_options=_options(args.option),
    )
    h = result.history
    tagging = getattr(result.model, "task", "regression") == "tagging"
    selected = "1 - validation ROC-AUC-macro" if tagging else "validation loss"
    print(f"{args.model}: {h.epochs_run} epochs in {h.wall_time_s:.1f} s, best epoch {h.best_epoch}, "
          f"final {selected} {h.final_val_loss:.4f}")
    if metrics:
        print("held-out test metrics (* = reported by the papers):")
        protocol = model_protocol(result.model)
        print(format_metrics(metrics, highlight=[k.split('/', 1)[-1] for k in paper_metrics(metrics, protocol)]))
    else:
        print(f"{result.metrics_note or 'no held-out metrics'}: the checkpoint carries none")
    print(f"checkpoint written to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import PAPER_METRICS, evaluate_checkpoint, format_metrics

    if args.checkpoint and len(args.checkpoint) > 1:
        from .evaluate import evaluate_late_fusion

        report = evaluate_late_fusion(args.checkpoint, dataset=args.dataset, root=args.root, split=args.split,
                                      progress=not args.quiet)
        print(f"late fusion of {len(args.checkpoint)} taggers on {report['dataset']}: {report['n_songs']} songs "
              f"of the {args.split!r} split; * = reported by Rajamani et al.")
        print(format_metrics(report["metrics"], highlight=PAPER_METRICS["tagging"]))
        result = report
    elif args.checkpoint:
        report = evaluate_checkpoint(args.checkpoint[0], dataset=args.dataset, root=args.root, split=args.split,
                                     smooth=args.smooth, progress=not args.quiet)
        who = {"tagging": "Rajamani et al. (macro over the tags with positive and negative songs)",
               "per-song": "Zhang et al.", "holdout": "Ma et al. and Li et al."}
        print(f"{report['dataset']}: {report['n_songs']} songs of the {args.split!r} split"
              f"{' (smoothed)' if args.smooth else ''}; * = reported by {who.get(report['protocol'], 'the papers')}")
        print(format_metrics(report["metrics"], highlight=PAPER_METRICS[report["protocol"]]))
        result = report
    else:
        from .data import load_dataset
        from .evaluate import cross_validate
        from .train import build_task_examples, model_data_defaults

        if args.protocol == "holdout":
            raise MemoError("--protocol holdout scores a trained model: give --checkpoint PATH")
        if not (args.model and args.dataset):
            raise MemoError("evaluate needs --checkpoint PATH, or --model NAME --dataset NAME [--features NAME] "
                            "for cross-validation")
        load = load_dataset(args.dataset, _training_root(args), require_audio=True)
        task, features, targets = model_data_defaults(args.model, load, features=args.features,
                                                      targets=_targets(args.target))
        if task == "tagging":
            raise MemoError(f"{args.model} is a tagger: k-fold cross-validation is for the per-frame models; "
                            "score a tagger checkpoint on its test split with --checkpoint")
        examples = build_task_examples(task, load.songs, features=features, targets=targets,
                                       progress=not args.quiet)
        result = cross_validate(
            args.model, args.preset, examples, n_folds=args.folds, seed=args.seed or 0, smooth=args.smooth,
            config_overrides=_train_overrides(args), progress=not args.quiet,
            on_fold=lambda k, r: print(f"fold {k + 1}: " + ", ".join(
                f"{name} {r[name]:.3f}" for name in r if name.split('/', 1)[1] in PAPER_METRICS["kfold"])),
        )
        print(f"{args.model} on {args.dataset}: {args.folds}-fold cross-validation by song, "
              f"mean over folds (* = reported by Chaki et al.)")
        print(format_metrics(result["mean"], highlight=PAPER_METRICS["kfold"]))
    if args.json:
        atomic_write(Path(args.json), lambda h: h.write(json.dumps(result, indent=2, default=float)))
    return 0


def _resolve_checkpoint(spec: str):
    """A checkpoint file, or a key of the default manifest (checked against its SHA-256)."""
    from .checkpoints import load_checkpoint
    from .defaults import default_checkpoints_dir, load_default_checkpoints

    if Path(spec).expanduser().exists() or spec.endswith(".pt") or "/" in spec:
        return load_checkpoint(spec)
    loaded, problems = load_default_checkpoints(keys=[spec])
    if spec in loaded:
        return loaded[spec]
    raise MemoError(f"{spec} is neither a checkpoint file nor a usable default checkpoint in "
                    f"{default_checkpoints_dir()} ({problems.get(spec) or problems.get('manifest')})")


def cmd_predict(args: argparse.Namespace) -> int:
    if args.checkpoint is not None:
        return _predict_with(_resolve_checkpoint(args.checkpoint), args, Path(args.out))
    from .defaults import load_default_checkpoints

    if args.fuse or args.hop is not None:
        raise MemoError("--fuse and --hop need one --checkpoint")
    loaded, problems = load_default_checkpoints()
    for key, reason in problems.items():
        print(f"skipped default checkpoint {key}: {reason}", file=sys.stderr)
    if not loaded:
        raise MemoError("no usable default checkpoint: give --checkpoint PATH, or run "
                        "`python -m memo_core train-defaults`")
    return _predict_defaults(loaded, args, Path(args.out))


def _write_song(song, out: Path, stem: Path, fused=None) -> None:
    """NAME.csv and NAME.explanations.npz (and a fusion's NAME.fused.csv) under ``out``, as the stem lies."""
    from .explain import write_explanations_npz, write_predictions_csv

    write_predictions_csv(song, out / stem.parent / f"{stem.name}.csv")
    write_explanations_npz(song, out / stem.parent / f"{stem.name}.explanations.npz")
    if fused is not None:
        write_predictions_csv(fused, out / stem.parent / f"{stem.name}.fused.csv")


def _show_tags(label: str, song) -> None:
    from tqdm import tqdm

    top = song.tag_scores().head(5)
    tqdm.write(f"{label}: " + ", ".join(f"{tag} {score:.2f}" for tag, score in top.items()))


def _summary(ckpt, n_files: int, failed: list[tuple[Path, str]], out: Path, fused: bool = False) -> int:
    """Print one checkpoint's line and its skipped files; 1 when every file failed."""
    tagging = getattr(ckpt.model, "task", "regression") == "tagging"
    what = ("tag scores CSV" + (" + fused CSV" if fused else "") if tagging else "per-frame CSV")
    print(f"{ckpt.info['model_name']}: {n_files - len(failed)} of {n_files} files -> {out} "
          f"({what} + explanations .npz)")
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if failed and len(failed) == n_files else 0


def _predict_defaults(loaded: dict, args: argparse.Namespace, out: Path) -> int:
    """Every default checkpoint on every file, into OUT/KEY/: each file decoded once, each feature set
    extracted once (:func:`~memo_core.analysis.analyse_song`, with its caches)."""
    from tqdm import tqdm

    from .analysis import analyse_song
    from .audio import load_audio

    inputs = _audio_inputs(args.audio)
    failed: dict[str, list[tuple[Path, str]]] = {key: [] for key in loaded}
    for path, stem in tqdm(inputs, desc=f"predict {len(loaded)} checkpoints", unit="file", disable=args.quiet):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                analysis = analyse_song(load_audio(path), loaded, smooth=args.smooth)
        except MemoError as exc:  # audio that cannot be used fails every checkpoint
            for key in loaded:
                failed[key].append((path, str(exc)))
            continue
        for key, reason in analysis.problems.items():
            failed[key].append((path, reason))
        for key, song in analysis.results.items():
            _write_song(song, out / key, stem)
            if song.task == "tagging" and not args.quiet:
                _show_tags(f"{key} {path.name}", song)
    return max(_summary(ckpt, len(inputs), failed[key], out / key) for key, ckpt in loaded.items())


def _predict_with(ckpt, args: argparse.Namespace, out: Path) -> int:
    from tqdm import tqdm

    from .audio import load_audio
    from .explain import explain_song, fuse_tag_explanations

    if args.hop is not None:
        set_hop = getattr(ckpt.model, "set_hop_seconds", None)
        if set_hop is None:
            raise MemoError(f"--hop sets the sliding-window hop of models that have one (damff); "
                            f"{ckpt.info['model_name']} has none")
        set_hop(args.hop)
    fuse = [_resolve_checkpoint(p) for p in args.fuse or ()]
    tagging = getattr(ckpt.model, "task", "regression") == "tagging"
    if fuse and not (tagging and all(getattr(c.model, "task", "") == "tagging" for c in fuse)):
        raise MemoError("--fuse averages tag scores: give tagger checkpoints (vggish) to both --checkpoint and --fuse")
    inputs = _audio_inputs(args.audio)
    failed: list[tuple[Path, str]] = []
    for path, stem in tqdm(inputs, desc=f"predict {ckpt.info['model_name']}", unit="file", disable=args.quiet):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                audio = load_audio(path)  # decoded once for the checkpoint and every fusion member
                song = explain_song(ckpt, audio, smooth=args.smooth)
                # members' maps are not fused: score them without the explanation passes
                fused = (fuse_tag_explanations([song] + [explain_song(c, audio, explain=False) for c in fuse])
                         if fuse else None)
        except MemoError as exc:
            failed.append((path, str(exc)))
            continue
        _write_song(song, out, stem, fused)
        if tagging and not args.quiet:
            _show_tags(path.name, fused or song)
    return _summary(ckpt, len(inputs), failed, out, fused=bool(fuse))


def cmd_train_defaults(args: argparse.Namespace) -> int:
    from .defaults import default_checkpoints_dir, train_default_set

    out = Path(args.out) if args.out else default_checkpoints_dir()

    def done(entry: dict) -> None:
        shown = {k: v for k, v in entry["metrics"].items()
                 if k.endswith(("/RMSE", "/CCC-per-song")) or k in ("ROC-AUC-macro", "PR-AUC-macro")}
        clips = {f"clips {k}": v for k, v in (entry.get("clip_metrics") or {}).items() if k.endswith("ROC-AUC")}
        print(f"{entry['key']}: {entry['model']}:{entry['preset']} on {entry['features']}, "
              f"{entry['epochs']} epochs in {entry['train_seconds']:.0f} s, {entry['size_bytes'] / 1e6:.2f} MB; "
              + ", ".join(f"{k} {v:.3f}" for k, v in {**shown, **clips}.items()), flush=True)

    only = [k.strip() for k in args.only.split(",")] if args.only else None
    sources = [_source_spec(text) for text in (args.source or [])]
    if args.dataset:
        if not args.root and args.dataset != "synth":
            raise MemoError(f"--dataset {args.dataset} needs --root PATH, the dataset's folder in its official layout")
        sources.insert(0, (args.dataset, args.root, 1.0))
    if sources and not any(name == "synth" for name, *_ in sources) and args.with_synth:
        sources.insert(0, ("synth", args.corpus, 1.0))
    if sources:
        print("train-defaults: sources " + ", ".join(f"{n} ({r or 'default'}, weight {w:g})" for n, r, w in sources))
    def estimate(figures: dict) -> None:
        print(f"train-defaults: estimated {figures['total'] / 60:.0f} min on this kind of machine "
              f"(feature extraction about {figures['extraction'] / 60:.0f} min when nothing is cached, training about "
              f"{figures['training'] / 60:.0f} min); every finished checkpoint is kept: rerun with --resume to go on "
              "after an interruption", flush=True)

    manifest = train_default_set(out, corpus=args.corpus, sources=sources or None, only=only,
                                 max_epochs=args.max_epochs, seed=args.seed, resume=args.resume,
                                 progress=not args.quiet, on_done=done, on_estimate=estimate,
                                 on_skip=lambda key, why: print(f"train-defaults: {key} not trained: {why}",
                                                                flush=True))
    total = sum(e["size_bytes"] for e in manifest["checkpoints"])
    print(f"{len(manifest['checkpoints'])} checkpoints, {total / 1e6:.1f} MB, manifest written to {out}")
    return 0


def _source_spec(text: str) -> tuple[str, str | None, float]:
    """``NAME=PATH[@WEIGHT]`` (or ``NAME[@WEIGHT]`` for the synthetic corpus) as ``(name, path, weight)``."""
    from .data import list_datasets

    body, _, weight = text.partition("@")
    name, _, root = body.partition("=")
    name = name.strip()
    if name not in list_datasets():
        raise MemoError(f"--source {text!r}: unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    try:
        value = float(weight) if weight else 1.0
    except ValueError:
        raise MemoError(f"--source {text!r}: the weight after @ must be a number") from None
    if not value >= 0:
        raise MemoError(f"--source {text!r}: the weight must be >= 0")
    if not root and name != "synth":
        raise MemoError(f"--source {text!r}: give the folder as {name}=PATH")
    return name, root or None, value


def cmd_validate_real(args: argparse.Namespace) -> int:
    from .defaults import default_checkpoints_dir, load_default_checkpoints
    from .validate_real import format_report, validate_checkpoints, write_into_manifest

    folder = Path(args.dir) if args.dir else default_checkpoints_dir()
    asked = [k.strip() for k in args.checkpoint.split(",")] if args.checkpoint else None
    keys = None
    if asked:  # the baselines are always scored too: every figure is shown beside theirs
        keys = list(dict.fromkeys(asked + ["loudness", "mlr", "songlin"]))
    loaded, problems = load_default_checkpoints(folder, keys=keys)
    for key, reason in problems.items():
        if not (keys and key in ("loudness", "mlr", "songlin") and "no checkpoint" in reason):
            print(f"skipped {key}: {reason}", file=sys.stderr)
    if not loaded or (asked and not set(asked) & set(loaded)):
        raise MemoError(f"none of the checkpoints asked for could be loaded from {folder}: "
                        "`python -m memo_core checkpoints` lists them")
    real = None
    if args.dataset:
        if not args.root:
            raise MemoError("--dataset needs --root PATH")
        real = [(args.dataset, args.root)]
    elif args.no_clips:
        real = []
    fourq = "" if args.no_4q else args.fourq_root
    results = validate_checkpoints(loaded, real_sources=real, fourq_root=fourq, n_boot=args.n_boot, seed=args.seed,
                                   faithfulness=not args.no_faithfulness, mark_best=not asked,
                                   progress=not args.quiet)
    print(format_report(results))
    for key, res in results.items():
        for t in (res.get("validation_real") or {}).get("targets", []):
            if not t["met"]:
                print(f"target missed: {key}: {t['what']} ({t['value']:.3f})")
    if args.write:  # only what was asked for: a baseline scored for comparison keeps its own full figures
        path = write_into_manifest(folder, {k: v for k, v in results.items() if not asked or k in asked})
        print(f"figures written into {path}")
    if args.json:
        import json as _json

        from .validate_real import plain
        atomic_write(Path(args.json), lambda h: h.write(_json.dumps(plain(results), indent=2)))
    return 0


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from .defaults import check_entry, default_checkpoints_dir, read_manifest

    folder = Path(args.dir) if args.dir else default_checkpoints_dir()
    manifest = read_manifest(folder)
    print(f"{folder}: trained on {manifest['trained_on'].get('dataset')} "
          f"({json.dumps(manifest['trained_on'].get('corpus', {}))})")
    bad = 0
    for entry in manifest["checkpoints"]:
        problem = check_entry(folder, entry)
        bad += problem is not None
        status = "ok" if problem is None else f"SKIPPED: {problem}"
        print(f"{entry['key']:<20}{entry['model'] + ':' + entry['preset']:<24}{entry['features']:<18}"
              f"{entry['n_parameters']:>10,}  {status}")
    return 1 if bad else 0


def cmd_models(args: argparse.Namespace) -> int:
    from .models.registry import get_model, list_models, list_presets, model_class, model_config

    print(f"{'model':<14}{'preset':<20}{'parameters':>12}  input")
    for name in list_models():
        own = getattr(model_class(name), "default_features", None)
        tagging = getattr(model_class(name), "task", "regression") == "tagging"
        for preset in list_presets(name):
            fields = model_config(name, preset).__dataclass_fields__
            # Models with their own feature set keep its width; taggers keep their default tag count.
            wanted = (() if own else (("n_features", args.n_features),)) + (() if tagging else (("n_targets", 2),))
            sizes = {k: v for k, v in wanted if k in fields}
            model = get_model(name, preset, **sizes)
            n = model.n_parameters()
            shape = (f"{own} ({model.config.n_features} a frame)" if own else f"{args.n_features} features a frame")
            shape += f", {model.config.n_targets} tags" if tagging else ", valence + arousal"
            print(f"{name:<14}{preset:<20}{n:>12,}  {shape}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .report import METRIC_COLUMNS, compare_models, format_markdown, parse_fusions, parse_lineup

    def show(row) -> None:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in row.metrics.items()
                           if k.endswith(("/RMSE", "/R2", "/CCC-per-song", "ROC-AUC-macro", "PR-AUC-macro")))
        print(f"{row.model}:{row.preset}: {row.train_seconds:.1f} s, {row.epochs} epochs, {scores}", flush=True)

    rows, info = compare_models(
        dataset=args.dataset, root=_training_root(args), features=args.features, targets=_targets(args.target),
        lineup=parse_lineup(args.models), fusions=parse_fusions(args.fuse), max_epochs=args.max_epochs,
        split_seed=args.split_seed, seed=args.seed, progress=not args.quiet, on_model=show,
    )
    columns = tuple(c.strip() for c in args.metrics.split(",")) if args.metrics else METRIC_COLUMNS
    table = format_markdown(rows, info, columns=columns)
    print(table)
    if args.out:
        atomic_write(Path(args.out), lambda h: h.write(table))
        print(f"written {args.out}")
    return 0


def _training_root(args: argparse.Namespace):
    """The dataset folder; for ``synth`` without ``--root``, the default corpus, rendered on first use."""
    if args.root or args.dataset != "synth":
        return args.root
    from .data import synth

    return synth.ensure_corpus(progress=not args.quiet)


def _options(pairs: Sequence[str] | None) -> dict[str, object]:
    """``KEY=VALUE`` pairs as loader keyword arguments (integers where they parse)."""
    out: dict[str, object] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise MemoError(f"--option expects KEY=VALUE, got {pair!r}")
        out[key.strip().replace("-", "_")] = int(value) if value.strip().lstrip("-").isdigit() else value
    return out


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
    p.add_argument("--workers", type=int, default=None, help="render processes (default: up to 2)")

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
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (generic: scale=0-1; mtg_jamendo: split_index=1, audio_dir=PATH)")

    p = add("transfer", cmd_transfer, "train ridge on the synthetic corpus, test on real clips (Pearson r)")
    p.add_argument("--corpus", help="synthetic corpus folder (default: the default corpus, rendered if missing)")
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"),
                   help="folder with the real emoMusic/PMEmo clips and annotations (default ../shared/data)")
    p.add_argument("--features", default="deam260", help="500 ms feature set the ridge models see (default deam260)")
    p.add_argument("--json", help="also write the report as JSON here")

    from .bench import configure_parser as bench_options

    p = add("bench", cmd_bench, "time feature extraction, inference, whole-song analysis and training steps; "
                                "print the targets met or missed")
    bench_options(p)

    def add_training_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--preset", help="model preset (default: the model's default, see `models`)")
        p.add_argument("--dataset", help="dataset loader name (synth, deam, emomusic, pmemo, generic)")
        p.add_argument("--root", help="the dataset's top folder (synth: the default corpus, rendered if missing)")
        p.add_argument("--features", help="feature set (see `features`), e.g. deam260; default: the model's own "
                                          "(damff: logmel128_steps, vggish: mel96)")
        p.add_argument("--target", choices=("valence", "arousal", "both"), default="both",
                       help="train one dimension or both jointly (default both)")
        p.add_argument("--epochs", type=int, help="max epochs (default: the model's paper setting)")
        p.add_argument("--lr", type=float, help="learning rate")
        p.add_argument("--batch-size", type=int, help="songs per batch")
        p.add_argument("--patience", type=int, help="early-stopping patience in epochs")
        p.add_argument("--optimizer", choices=("adam", "adamw", "sgd", "rmsprop"), help="optimiser")
        p.add_argument("--loss", choices=("mse", "rmse", "ccc"), help="loss, for models without their own")
        p.add_argument("--noise", type=float, help="std of Gaussian input noise on normalised features")
        p.add_argument("--segment-frames", type=int, help="train on random windows of this many frames")
        p.add_argument("--weight-decay", type=float, help="L2 penalty")
        p.add_argument("--seed", type=int, help="training seed (default 0)")
        p.add_argument("--device", help="torch device (default cpu)")
        p.add_argument("--smooth", action="store_true", help="smooth predictions with the 25-frame triangle filter")

    p = add("train", cmd_train, "train a model on a dataset's training songs and save a checkpoint")
    p.add_argument("--model", required=True, help="model name (see `models`)")
    add_training_options(p)
    p.add_argument("--split-seed", type=int, default=0, help="seed of the split where the dataset has no official one")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (mtg_jamendo: mel_dir=PATH, audio_dir=PATH, split_index=1)")
    p.add_argument("--out", required=True, help="checkpoint file to write (.pt)")

    p = add("evaluate", cmd_evaluate,
            "score a checkpoint on its test songs, or cross-validate a model (--protocol kfold)")
    p.add_argument("--checkpoint", action="append",
                   help="checkpoint to score on its held-out songs; repeat it with tagger checkpoints to score "
                        "their late fusion (mean of scores, Rajamani et al.)")
    p.add_argument("--split", default="test", help="split to score a checkpoint on: test (default), validation, all")
    p.add_argument("--model", help="model to cross-validate (with --protocol kfold)")
    p.add_argument("--protocol", choices=("holdout", "kfold"), default=None,
                   help="holdout: a checkpoint's test split; kfold: Chaki et al.'s 10-fold CV of --model")
    p.add_argument("--folds", type=int, default=10, help="folds for --protocol kfold (default 10)")
    add_training_options(p)
    p.add_argument("--json", help="also write the report as JSON here")

    p = add("predict", cmd_predict, "per-frame valence/arousal and explanation maps for audio files")
    p.add_argument("--checkpoint", help="a checkpoint written by `train`, or a key of checkpoints/manifest.json "
                                        "(default: every shipped default checkpoint, each into OUT/KEY/)")
    p.add_argument("audio", metavar="SONG_OR_DIR", help="an audio file or a folder (searched recursively)")
    p.add_argument("--out", required=True, help="output folder: NAME.csv and NAME.explanations.npz per file")
    p.add_argument("--smooth", action="store_true", help="smooth predictions with the 25-frame triangle filter")
    p.add_argument("--fuse", action="append", metavar="CHECKPOINT",
                   help="another tagger checkpoint to late-fuse with --checkpoint (repeatable): NAME.fused.csv")
    p.add_argument("--hop", type=float, metavar="SECONDS",
                   help="sliding-window hop for whole songs (damff; default: the checkpoint's, 0.5 s)")

    p = add("compare", cmd_compare, "train every model on one split and write the comparison table (markdown)")
    p.add_argument("--dataset", default="synth", help="dataset loader name (default synth)")
    p.add_argument("--root", help="the dataset folder (synth: the default corpus, rendered if missing)")
    p.add_argument("--features", default="deam260", help="500 ms feature set (default deam260)")
    p.add_argument("--target", choices=("valence", "arousal", "both"), default="both")
    p.add_argument("--models", help="comma-separated MODEL[:PRESET] (default: the sequence families, tiny presets, "
                                    "and mlr); `damff` and `taggers` name the DAMFF variants and the tagger variants")
    p.add_argument("--fuse", help="late fusions of taggers in --models: MODEL:PRESET+MODEL:PRESET, several joined "
                                  "by ';'; `paper` gives Rajamani et al.'s two")
    p.add_argument("--metrics", help="per-target metric columns of the per-frame table, comma-separated "
                                     "(default RMSE,CCC-per-song,R2; Zhang et al.: CCC-per-song,r-per-song,RMSE-per-song)")
    p.add_argument("--max-epochs", type=int, help="cap each model's paper epoch count")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the song-wise split")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--out", help="write the markdown table here")

    p = add("train-defaults", cmd_train_defaults,
            "train the shipped default checkpoints on the synthetic corpus and write their manifest")
    p.add_argument("--out", help="checkpoints folder (default: the repository's checkpoints/, or $MEMO_CHECKPOINTS_DIR)")
    p.add_argument("--corpus", help="synthetic corpus folder (default: the default corpus, rendered if missing)")
    p.add_argument("--only", help="comma-separated keys to retrain (the manifest keeps the others)")
    p.add_argument("--max-epochs", type=int, help="cap every model's epochs (quick runs)")
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument("--source", action="append", metavar="NAME=PATH[@WEIGHT]",
                   help="a training source, repeatable: any dataset loader and its folder, and the weight of its "
                        "clip-level loss (e.g. 4q=../shared/data/4q@1, vgmidi_rendered=DIR); default: the synthetic corpus")
    p.add_argument("--dataset", help="retrain the whole set on this real dataset (deam, emomusic, pmemo, generic, 4q)")
    p.add_argument("--root", help="its folder in the official layout (with --dataset)")
    p.add_argument("--resume", action="store_true",
                   help="skip checkpoints the folder already holds intact from the same sources (go on after an "
                        "interruption)")
    p.add_argument("--with-synth", action="store_true",
                   help="add the synthetic corpus to the sources given (dynamics by design)")

    p = add("validate-real", cmd_validate_real,
            "score every checkpoint on real recordings (emoMusic/PMEmo clips, 4Q) with 90%% intervals")
    p.add_argument("--dir", help="checkpoints folder (default: the shipped set)")
    p.add_argument("--checkpoint", help="comma-separated keys (default: all; the baselines are always scored)")
    p.add_argument("--dataset", help="a dataset with dynamic annotations instead of the shared emoMusic/PMEmo clips")
    p.add_argument("--root", help="its folder (with --dataset)")
    p.add_argument("--fourq-root", help="the 4Q folder (default ../shared/data/4q when present)")
    p.add_argument("--no-4q", action="store_true", help="skip 4Q")
    p.add_argument("--no-clips", action="store_true", help="skip the annotated clips")
    p.add_argument("--no-faithfulness", action="store_true", help="skip the deletion tests of the maps")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="resampling seed")
    p.add_argument("--write", action="store_true", help="write the figures into the checkpoints' manifest")
    p.add_argument("--json", help="also write the figures as JSON here")

    from .reproduce import configure_parser as reproduce_options, run_cli as run_reproduce

    p = add("reproduce", run_reproduce,
            "run a paper's experimental protocol and write its tables, our figures beside the paper's")
    reproduce_options(p)

    p = add("checkpoints", cmd_checkpoints, "list the default checkpoints of the manifest and check their SHA-256")
    p.add_argument("--dir", help="checkpoints folder (default: the repository's checkpoints/)")

    p = add("models", cmd_models, "list the models and their presets with parameter counts")
    p.add_argument("--n-features", type=int, default=260, help="input features assumed for the counts (default 260)")
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
    except OSError as exc:  # unwritable output folder, full disk, ...: a message, not a traceback
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"error: {exc.strerror or exc}{where}. Check the path and its permissions.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
