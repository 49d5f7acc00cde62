"""Commands over models and checkpoints: ``train``, ``evaluate``, ``predict``, ``checkpoints``, ``models``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from memo_core.audio import load_audio
from memo_core.cli._common import (
    _audio_inputs,
    _epoch_printer,
    _file_warnings,
    _options,
    _resolve_checkpoint,
    _targets,
    _train_overrides,
    _training_root,
)
from memo_core.data import load_dataset
from memo_core.errors import MemoError
from memo_core.experiments.evaluation import (
    cross_validate,
    evaluate_checkpoint,
    evaluate_late_fusion,
)
from memo_core.experiments.pipeline import (
    build_task_examples,
    model_data_defaults,
    train_from_dataset,
)
from memo_core.explain.analysis import analyse_song
from memo_core.explain.explanation import (
    explain_song,
    fuse_tag_explanations,
    write_explanations_npz,
    write_predictions_csv,
)
from memo_core.fileio import atomic_write
from memo_core.models.registry import (
    get_model,
    list_models,
    list_presets,
    model_class,
    model_config,
)
from memo_core.pretrained import (
    check_entry,
    default_checkpoints_dir,
    load_default_checkpoints,
    read_manifest_checked,
)
from memo_core.training.scoring import (
    PAPER_METRICS,
    format_metrics,
    model_protocol,
    paper_metrics,
)


def cmd_train(args: argparse.Namespace) -> int:

    out = Path(args.out).expanduser()
    if out.is_dir():
        raise MemoError(f"--out {args.out} is a folder: give the checkpoint file to write (e.g. {out / 'model.pt'})")
    if out.exists() and not args.force:
        raise MemoError(f"{args.out} exists: give another --out, or add --force to overwrite it")
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

    if args.checkpoint and len(args.checkpoint) > 1:

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



def cmd_predict(args: argparse.Namespace) -> int:
    if args.checkpoint is not None:
        return _predict_with(_resolve_checkpoint(args.checkpoint), args, Path(args.out))

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

    write_predictions_csv(song, out / stem.parent / f"{stem.name}.csv")
    write_explanations_npz(song, out / stem.parent / f"{stem.name}.explanations.npz")
    if fused is not None:
        write_predictions_csv(fused, out / stem.parent / f"{stem.name}.fused.csv")



def _show_tags(label: str, song) -> None:

    top = song.tag_scores().head(5)
    tqdm.write(f"{label}: " + ", ".join(f"{tag} {score:.2f}" for tag, score in top.items()))



def _summary(ckpt, label: str, n_files: int, failed: list[tuple[Path, str]], out: Path, fused: bool = False) -> int:
    """Print one checkpoint's line, named by ``label`` (its manifest key or file), and its skipped files;
    1 when every file failed."""
    tagging = getattr(ckpt.model, "task", "regression") == "tagging"
    what = ("tag scores CSV" + (" + fused CSV" if fused else "") if tagging else "per-frame CSV")
    model = str(ckpt.info.get("model_name", ""))
    print(f"{label}{f' ({model})' if model and model != label else ''}: {n_files - len(failed)} of {n_files} "
          f"files -> {out} ({what} + explanations .npz)")
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    return 1 if failed and len(failed) == n_files else 0



def _predict_defaults(loaded: dict, args: argparse.Namespace, out: Path) -> int:
    """Every default checkpoint on every file, into OUT/KEY/: each file decoded once, each feature set
    extracted once (:func:`~memo_core.explain.analysis.analyse_song`, with its caches)."""


    inputs = _audio_inputs(args.audio)
    failed: dict[str, list[tuple[Path, str]]] = {key: [] for key in loaded}
    for path, stem in tqdm(inputs, desc=f"predict {len(loaded)} checkpoints", unit="file", disable=args.quiet):
        try:
            with _file_warnings(path):
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
    return max(_summary(ckpt, key, len(inputs), failed[key], out / key) for key, ckpt in loaded.items())



def _predict_with(ckpt, args: argparse.Namespace, out: Path) -> int:


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
            with _file_warnings(path):
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
    return _summary(ckpt, args.checkpoint, len(inputs), failed, out, fused=bool(fuse))



def cmd_checkpoints(args: argparse.Namespace) -> int:

    folder = Path(args.dir) if args.dir else default_checkpoints_dir()
    manifest, skipped = read_manifest_checked(folder)  # entries that follow the schema; the others, with why
    trained_on = manifest.get("trained_on", {})
    print(f"{folder}: trained on {trained_on.get('dataset', 'a set the manifest does not name')} "
          f"({json.dumps(trained_on.get('corpus', {}))})")
    bad = len(skipped)
    for entry in manifest["checkpoints"]:
        problem = check_entry(folder, entry)
        bad += problem is not None
        status = "ok" if problem is None else f"SKIPPED: {problem}"
        params = f"{entry['n_parameters']:>10,}" if "n_parameters" in entry else f"{'?':>10}"
        print(f"{entry['key']:<20}{entry.get('model', '?') + ':' + entry.get('preset', '?'):<24}"
              f"{entry.get('features') or '?':<18}{params}  {status}")
    for key, problem in skipped.items():
        print(f"{key:<20}{'?':<24}{'?':<18}{'?':>10}  SKIPPED: {problem}")
    return 1 if bad else 0



def cmd_models(args: argparse.Namespace) -> int:

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
