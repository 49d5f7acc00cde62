"""Commands that run a protocol: ``bench``, ``train-defaults``, ``validate-real``, ``compare``, ``reproduce``."""

from __future__ import annotations

import argparse
import json as _json
import sys
import tempfile
import warnings
from pathlib import Path

from memo_core.cli._common import _options, _targets, _training_root
from memo_core.data import list_datasets
from memo_core.errors import MemoError
from memo_core.experiments.bench import (
    format_section,
    run_benchmark,
    write_json,
)
from memo_core.experiments.compare import (
    compare_models,
    format_markdown,
    parse_columns,
    parse_fusions,
    parse_lineup,
)
from memo_core.experiments.reproduce import (
    RowResult,
    _cell,
    format_reproduction,
    reproduce,
)
from memo_core.experiments.train_defaults import train_default_set
from memo_core.experiments.validate_real import (
    format_report,
    plain,
    validate_checkpoints,
    write_into_manifest,
)
from memo_core.fileio import atomic_write
from memo_core.papers import PAPERS, _check_paper
from memo_core.pretrained import (
    MANIFEST_NAME,
    default_checkpoints_dir,
    load_default_checkpoints,
)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run ``bench`` from parsed arguments: print each section's table as it finishes, then the targets."""

    quiet = bool(getattr(args, "quiet", False))
    folder = Path(args.checkpoints).expanduser() if args.checkpoints else default_checkpoints_dir()
    needs_set = any(s in args.sections for s in ("inference", "analysis"))
    with tempfile.TemporaryDirectory(prefix="memo-bench-defaults-") as tmp:
        if needs_set and not (folder / MANIFEST_NAME).is_file():
            if args.quick_defaults:
                print(f"no {MANIFEST_NAME} in {folder}: training a quick default set (1 epoch each) in {tmp}",
                      flush=True)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    train_default_set(tmp, corpus=args.corpus, max_epochs=1, progress=not quiet)
                folder = Path(tmp)
            else:
                print(f"no {MANIFEST_NAME} in {folder}: skipping inference and analysis "
                      "(`python -m memo_core train-defaults` trains the set; --quick-defaults trains a quick one)",
                      flush=True)

        def show(name: str, rows: list[dict]) -> None:
            print("\n" + format_section(name, rows), flush=True)

        report = run_benchmark(
            sections=args.sections, feature_durations=args.durations,
            feature_names=args.features.split(",") if args.features else None,
            song_durations=args.song_durations, checkpoints=folder, workers=args.workers,
            torch_threads=args.torch_threads, progress=not quiet, on_section=show,
            library_songs=getattr(args, "library_songs", 40),
            library_duration_s=getattr(args, "library_duration", 45.0),
            library_keys=[k.strip() for k in args.library_checkpoints.split(",") if k.strip()]
            if getattr(args, "library_checkpoints", None) else None)
    print(f"\nload average {report['load_average_start']} -> {report['load_average_end']} "
          f"on {report['machine']['cpu_count']} cores (wall times grow under load; CPU times do not)")
    if args.json:
        write_json(report, args.json)
        print(f"written {args.json}")
    return 0



def cmd_train_defaults(args: argparse.Namespace) -> int:

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

    body, _, weight = text.partition("@")
    name, _, root = body.partition("=")
    name = name.strip()
    if name not in list_datasets():
        raise MemoError(f"--source {text!r}: unknown dataset {name!r}; known: {', '.join(list_datasets())}")
    try:
        value = float(weight) if weight else 1.0
    except ValueError:
        raise MemoError(f"--source {text!r}: the weight after @ must be a number") from None
    if not 0 <= value < float("inf"):  # NaN and infinity too
        raise MemoError(f"--source {text!r}: the weight must be a finite number >= 0")
    if not root and name != "synth":
        raise MemoError(f"--source {text!r}: give the folder as {name}=PATH")
    return name, root or None, value



def cmd_validate_real(args: argparse.Namespace) -> int:

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

        atomic_write(Path(args.json), lambda h: h.write(_json.dumps(plain(results), indent=2)))
    return 0



def cmd_compare(args: argparse.Namespace) -> int:

    def show(row) -> None:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in row.metrics.items()
                           if k.endswith(("/RMSE", "/R2", "/CCC-per-song", "ROC-AUC-macro", "PR-AUC-macro")))
        print(f"{row.model}:{row.preset}: {row.train_seconds:.1f} s, {row.epochs} epochs, {scores}", flush=True)

    columns = parse_columns(args.metrics)  # before training: a typo must not cost the whole comparison
    lineup, fusions = parse_lineup(args.models), parse_fusions(args.fuse)
    rows, info = compare_models(
        dataset=args.dataset, root=_training_root(args), features=args.features, targets=_targets(args.target),
        lineup=lineup, fusions=fusions, max_epochs=args.max_epochs,
        split_seed=args.split_seed, seed=args.seed, progress=not args.quiet, on_model=show,
    )
    table = format_markdown(rows, info, columns=columns)
    print(table)
    if args.out:
        atomic_write(Path(args.out), lambda h: h.write(table))
        print(f"written {args.out}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Run ``reproduce`` for ``--paper`` (all five for ``all``), print the tables, write ``--out``."""

    quiet = bool(getattr(args, "quiet", False))
    papers = PAPERS if args.paper == "all" else (args.paper,)
    for paper in papers:
        _check_paper(paper)
    options = _options(getattr(args, "option", None))

    def show(result: RowResult) -> None:
        figures = ", ".join(f"{label} paper {_cell(result.row.figures.get(label), 4, paper=True)} ours "
                            f"{_cell(value, 4, paper=False)}" for label, value in result.ours.items())
        print(f"{result.row.paper} Table {result.row.table}, {result.row.label}: {figures or result.run}", flush=True)

    root = _training_root(args)
    sections = []
    for paper in papers:
        results = reproduce(paper, dataset=args.dataset, root=root, quick=args.quick, seed=args.seed,
                            max_epochs=args.max_epochs, progress=not quiet, on_row=None if quiet else show,
                            options=options, skip_unsupported=len(papers) > 1)
        text = format_reproduction(paper, results)
        print(text, flush=True)
        sections.append(text)
    if args.out:
        atomic_write(Path(args.out), lambda h: h.write("\n\n".join(sections)))
        print(f"written {args.out}")
    return 0
