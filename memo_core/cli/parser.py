"""``python -m memo_core <command>``: the parser and the dispatch, thin commands over one library call each.

Every command catches :class:`~memo_core.errors.MemoError` and prints its
message (no traceback) with exit status 2, so a user sees what went wrong and
what to do. The parser names each command's function as ``"module:function"``
and imports its module only when that command runs, so ``--help`` answers at
once instead of loading torch, librosa and openSMILE first.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from memo_core.errors import MemoError
from memo_core.papers import PAPERS, QUICK_EPOCHS, QUICK_FOLDS

__all__ = [
    "build_parser",
    "main",
]

#: ``bench``'s sections (the same as :data:`memo_core.experiments.bench.SECTIONS`; a test keeps them equal,
#: so ``--help`` need not import the benchmark).
BENCH_SECTIONS = ("features", "inference", "analysis", "training", "library")

_DATA, _MODELS, _EXPERIMENTS = "memo_core.cli.data", "memo_core.cli.models", "memo_core.cli.experiments"
_LIBRARY = "memo_core.cli.library"

#: How ``extract`` and ``predict`` name their outputs (:func:`memo_core.cli._common._audio_inputs` does it;
#: their ``--help`` and the README say it).
OUTPUT_NAMES = ("NAME is the audio file's name without its suffix (3.mp3 -> 3), whether you give a file or a "
                "folder; for a folder, outputs keep the file's subfolders; two files of one folder that differ only "
                "by the suffix (a.wav, a.mp3) keep it (a.wav.*, a.mp3.*)")


def _number(cast: type, low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite ``cast`` (int or float) from ``low`` (excluded when ``above``) to ``high``.

    NaN, infinity and values out of range get argparse's usage error naming the range, not a traceback
    later (``--hop nan``) or a silently useless run (``--epochs 0``). ``bounds`` on the function lets a
    test check every numeric option has one.
    """
    kind = ("a positive whole number" if low == 1 and not above else "a whole number") if cast is int else "a number"
    shown = (lambda v: str(int(v))) if cast is int else (lambda v: f"{v:g}")  # noqa: E731
    span = f"above {shown(low)} and at most {shown(high)}" if above else f"from {shown(low)} to {shown(high)}"

    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not (value > low if above else value >= low) or value > high:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r} ({span})")
        return value

    parse.__name__ = cast.__name__
    parse.bounds = (low, high, above)
    return parse


#: Seeds go to numpy and torch, which take 0 .. 2**32 - 1 everywhere.
_SEED = _number(int, 0, 2**32 - 1)
_EPOCHS = _number(int, 1, 100_000)
_positive_int = _number(int, 1, 1024)  # worker and thread counts


def _seconds_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds separated by commas, got {text!r}") from None
    if not values or any(not (1.0 <= v <= 3600.0) for v in values):
        raise argparse.ArgumentTypeError(f"every duration must be from 1 s to 3600 s, got {text!r}")
    return values


def _sections(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in values if v not in BENCH_SECTIONS]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(BENCH_SECTIONS)} (comma-separated), got {text!r}")
    return values


def _bench_options(p: argparse.ArgumentParser) -> None:
    """Add ``bench``'s options to ``p`` (``-q/--quiet`` is the caller's)."""
    p.add_argument("--sections", type=_sections, default=BENCH_SECTIONS,
                   help=f"comma-separated, from {','.join(BENCH_SECTIONS)} (default: all)")
    p.add_argument("--durations", type=_seconds_list, default=(30.0, 240.0, 600.0),
                   help="feature section: audio lengths in seconds, comma-separated (default 30,240,600)")
    p.add_argument("--features", help="feature section: comma-separated extractor names (default: all)")
    p.add_argument("--song-durations", type=_seconds_list, default=(45.0, 240.0),
                   help="inference and analysis: song lengths in seconds (default 45,240; the targets are set "
                        "for these)")
    p.add_argument("--checkpoints", metavar="DIR",
                   help="default-set folder with manifest.json (default: the repository's checkpoints/)")
    p.add_argument("--quick-defaults", action="store_true",
                   help="when the folder has no manifest, train a quick default set (1 epoch each) into a "
                        "temporary folder and time that (same architectures, so the same speed)")
    p.add_argument("--corpus", help="synthetic corpus for --quick-defaults (default: the default corpus)")
    p.add_argument("--workers", type=_positive_int, help="feature-extraction threads in the analysis (default: 2 at most)")
    p.add_argument("--torch-threads", type=_positive_int, help="torch.set_num_threads for the run (default: torch's choice)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON here (atomically)")
    p.add_argument("--library-songs", type=_positive_int, default=40,
                   help="library section: songs in the generated collection (default 40)")
    p.add_argument("--library-duration", type=_number(float, 1.0, 3600.0), default=45.0, metavar="SECONDS",
                   help="library section: length of each generated song (default 45)")
    p.add_argument("--library-checkpoints", metavar="KEYS",
                   help="library section: comma-separated checkpoint keys (default mca,vggish_sa3)")


def _reproduce_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The ``reproduce`` subcommand's options (the caller adds ``-q/--quiet``)."""
    p.add_argument("--paper", required=True, choices=(*PAPERS, "all"),
                   help="the paper whose tables to reproduce, or all five")
    p.add_argument("--dataset", default="synth",
                   help="dataset loader name (default synth; the papers': deam, emomusic, mtg_jamendo)")
    p.add_argument("--root", help="the dataset folder (synth: the default corpus, rendered if missing)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (mtg_jamendo: audio_dir=PATH or mel_dir=PATH, split_index=0)")
    p.add_argument("--quick", action="store_true",
                   help=f"tiny presets, {QUICK_EPOCHS} epochs, {QUICK_FOLDS}-fold CV: runs the protocol in minutes")
    p.add_argument("--max-epochs", type=_EPOCHS, help="cap every run's paper epoch count")
    p.add_argument("--seed", type=_SEED, default=0, help="split and training seed (default 0)")
    p.add_argument("--out", help="write the markdown tables here")
    return p


def _library_commands(sub) -> None:
    """The ``library`` group: ``analyse``, ``query``, ``export`` (:mod:`memo_core.cli.library`)."""
    text = "whole collections: analyse a music library on Dask into Parquet, query it with SQL, export CSV"
    group = sub.add_parser("library", help=text, description=text)
    group.set_defaults(command_function=(_LIBRARY, "cmd_library"))
    commands = group.add_subparsers(dest="library_command", metavar="LIBRARY_COMMAND")

    def add(name: str, function: str, help_text: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(command_function=(_LIBRARY, function))
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        return p

    p = add("analyse", "cmd_library_analyse",
            "analyse every song of SOURCE into LIBRARY (resumable: songs already there with the same checkpoints "
            "are skipped; a bad file is recorded in the errors table and the run goes on)")
    p.add_argument("source", metavar="SOURCE", nargs="+",
                   help="a folder (searched recursively; a dataset folder in any layout), an audio file, or a text "
                        "file listing audio paths one a line")
    p.add_argument("--out", required=True, metavar="LIBRARY", help="the LIBRARY folder (new, or one to continue)")
    p.add_argument("--checkpoints", metavar="KEYS",
                   help="comma-separated keys of checkpoints/manifest.json (default: every checkpoint)")
    p.add_argument("--checkpoints-dir", metavar="DIR", help="checkpoints folder (default: the shipped set)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster of processes)")
    p.add_argument("--workers", type=_positive_int, help="local cluster workers (default: one per core)")

    p = add("query", "cmd_library_query", "run SQL over a LIBRARY with DuckDB (views songs, frames, errors, paths)")
    p.add_argument("library", metavar="LIBRARY")
    p.add_argument("sql", metavar="SQL")
    p.add_argument("--csv", metavar="PATH", help="write the result as CSV here instead of printing it")
    p.add_argument("--max-rows", type=_positive_int, default=60, help="rows printed at most (default 60)")

    p = add("export", "cmd_library_export", "write a LIBRARY's tables as CSV (songs, frames, errors, paths)")
    p.add_argument("library", metavar="LIBRARY")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the CSV files")
    p.add_argument("--no-frames", action="store_true", help="leave out frames.csv (every song's frames)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m memo_core",
        description="MEMO: explainable dynamic music emotion recognition.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, command: tuple[str, str], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(command_function=command)
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        return p

    p = add("synth", (_DATA, "cmd_synth"), "render the synthetic emotion corpus (audio + annotations + tags)")
    p.add_argument("--out", required=True, help="folder to write the corpus to")
    p.add_argument("--n-songs", type=_number(int, 1, 100_000), default=150, help="number of songs (default 150)")
    p.add_argument("--seed", type=_SEED, default=0, help="random seed (same seed, same corpus)")
    p.add_argument("--duration", type=_number(float, 0, 1200, above=True), default=45.0,
                   help="seconds per song (default 45, at most 1200)")
    p.add_argument("--workers", type=_positive_int, default=None, help="render processes (default: up to 2)")

    add("features", (_DATA, "cmd_features"), "list the feature extractors")

    p = add("extract", (_DATA, "cmd_extract"), "extract features from an audio file or a folder of audio files")
    p.add_argument("--features", required=True, help="extractor name (see `features`)")
    p.add_argument("audio", metavar="AUDIO_OR_DIR", help="an audio file or a folder (searched recursively)")
    p.add_argument("--out", required=True, help="output folder: one NAME.FEATURES.npy per file (and NAME.FEATURES.csv "
                                                "with --csv), plus FEATURES.spec.json; " + OUTPUT_NAMES)
    p.add_argument("--csv", action="store_true", help="also write a CSV with time_s (each frame's start) and named feature columns")
    p.add_argument("--no-cache", action="store_true", help="recompute even if the feature cache has the result")
    p.add_argument("--max-duration", type=_number(float, 0, 24 * 3600, above=True), default=20 * 60, help="refuse files longer than this (s)")

    p = add("datasets", (_DATA, "cmd_datasets"), "list the dataset loaders, or read one dataset folder and report")
    p.add_argument("--dataset", help="loader name (synth, deam, emomusic, pmemo, mtg_jamendo, generic)")
    p.add_argument("--root", help="the dataset's top folder (synth: default corpus location)")
    p.add_argument("--require-audio", action="store_true", help="skip songs without an audio file")
    p.add_argument("--list", action="store_true", help="print one line per song")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (generic: scale=0-1; mtg_jamendo: split_index=1, audio_dir=PATH)")

    p = add("transfer", (_DATA, "cmd_transfer"), "train ridge on the synthetic corpus, test on real clips (Pearson r)")
    p.add_argument("--corpus", help="synthetic corpus folder (default: the default corpus, rendered if missing)")
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "data"),
                   help="folder with the real emoMusic/PMEmo clips and annotations (default ../shared/data)")
    p.add_argument("--features", default="deam260", help="500 ms feature set the ridge models see (default deam260)")
    p.add_argument("--json", help="also write the report as JSON here")


    p = add("bench", (_EXPERIMENTS, "cmd_bench"), "time feature extraction, inference, whole-song analysis and training steps; "
                                "print the targets met or missed")
    _bench_options(p)

    def add_training_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--preset", help="model preset (default: the model's default, see `models`)")
        p.add_argument("--dataset", help="dataset loader name (synth, deam, emomusic, pmemo, generic)")
        p.add_argument("--root", help="the dataset's top folder (synth: the default corpus, rendered if missing)")
        p.add_argument("--features", help="feature set (see `features`), e.g. deam260; default: the model's own "
                                          "(damff: logmel128_steps, vggish: mel96)")
        p.add_argument("--target", choices=("valence", "arousal", "both"), default="both",
                       help="train one dimension or both jointly (default both)")
        p.add_argument("--epochs", type=_EPOCHS, help="max epochs (default: the model's paper setting)")
        p.add_argument("--lr", type=_number(float, 0, 10, above=True), help="learning rate")
        p.add_argument("--batch-size", type=_number(int, 1, 100_000), help="songs per batch")
        p.add_argument("--patience", type=_EPOCHS, help="early-stopping patience in epochs")
        p.add_argument("--optimizer", choices=("adam", "adamw", "sgd", "rmsprop"), help="optimiser")
        p.add_argument("--loss", choices=("mse", "rmse", "ccc"), help="loss, for models without their own")
        p.add_argument("--noise", type=_number(float, 0, 100), help="std of Gaussian input noise on normalised features")
        p.add_argument("--segment-frames", type=_number(int, 1, 10_000_000), help="train on random windows of this many frames")
        p.add_argument("--weight-decay", type=_number(float, 0, 100), help="L2 penalty")
        p.add_argument("--seed", type=_SEED, help="training seed (default 0)")
        p.add_argument("--device", help="torch device (default cpu)")
        p.add_argument("--smooth", action="store_true", help="smooth predictions with the 25-frame triangle filter")

    p = add("train", (_MODELS, "cmd_train"), "train a model on a dataset's training songs and save a checkpoint")
    p.add_argument("--model", required=True, help="model name (see `models`)")
    add_training_options(p)
    p.add_argument("--split-seed", type=_SEED, default=0, help="seed of the split where the dataset has no official one")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a loader option, repeatable (mtg_jamendo: mel_dir=PATH, audio_dir=PATH, split_index=1)")
    p.add_argument("--out", required=True, help="checkpoint file to write (.pt); an existing file is kept unless --force")
    p.add_argument("--force", action="store_true", help="overwrite the --out checkpoint if it exists")

    p = add("evaluate", (_MODELS, "cmd_evaluate"),
            "score a checkpoint on its test songs, or cross-validate a model (--protocol kfold)")
    p.add_argument("--checkpoint", action="append",
                   help="checkpoint to score on its held-out songs; repeat it with tagger checkpoints to score "
                        "their late fusion (mean of scores, Rajamani et al.)")
    p.add_argument("--split", default="test", choices=("test", "validation", "train", "all"),
                   help="split to score a checkpoint on: test (default), validation, train, all")
    p.add_argument("--model", help="model to cross-validate (with --protocol kfold)")
    p.add_argument("--protocol", choices=("holdout", "kfold"), default=None,
                   help="holdout: a checkpoint's test split; kfold: Chaki et al.'s 10-fold CV of --model")
    p.add_argument("--folds", type=_number(int, 2, 1000), default=10, help="folds for --protocol kfold (default 10)")
    add_training_options(p)
    p.add_argument("--json", help="also write the report as JSON here")

    p = add("predict", (_MODELS, "cmd_predict"), "per-frame valence/arousal and explanation maps for audio files")
    p.add_argument("--checkpoint", help="a checkpoint written by `train`, or a key of checkpoints/manifest.json "
                                        "(default: every shipped default checkpoint, each into OUT/KEY/)")
    p.add_argument("audio", metavar="SONG_OR_DIR", help="an audio file or a folder (searched recursively)")
    p.add_argument("--out", required=True,
                   help="output folder: NAME.csv and NAME.explanations.npz per file (NAME.fused.csv with --fuse); "
                        "per-frame CSV: time_s (the frame's start), one column per target, frame_end_s (its end, "
                        "the time an annotation of the frame carries); taggers: tag,score,threshold,predicted; "
                        + OUTPUT_NAMES)
    p.add_argument("--smooth", action="store_true", help="smooth predictions with the 25-frame triangle filter")
    p.add_argument("--fuse", action="append", metavar="CHECKPOINT",
                   help="another tagger checkpoint to late-fuse with --checkpoint (repeatable): NAME.fused.csv")
    p.add_argument("--hop", type=_number(float, 0, 3600, above=True), metavar="SECONDS",
                   help="sliding-window hop for whole songs (damff; default: the checkpoint's, 0.5 s)")

    p = add("compare", (_EXPERIMENTS, "cmd_compare"), "train every model on one split and write the comparison table (markdown)")
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
    p.add_argument("--max-epochs", type=_EPOCHS, help="cap each model's paper epoch count")
    p.add_argument("--split-seed", type=_SEED, default=0, help="seed of the song-wise split")
    p.add_argument("--seed", type=_SEED, default=0, help="training seed")
    p.add_argument("--out", help="write the markdown table here")

    p = add("train-defaults", (_EXPERIMENTS, "cmd_train_defaults"),
            "train the shipped default checkpoints on their sources (default: the synthetic corpus) and write their "
            "manifest")
    p.add_argument("--out", help="checkpoints folder (default: the repository's checkpoints/, or $MEMO_CHECKPOINTS_DIR)")
    p.add_argument("--corpus", help="synthetic corpus folder (default: the default corpus, rendered if missing)")
    p.add_argument("--only", help="comma-separated keys to retrain (the manifest keeps the others)")
    p.add_argument("--max-epochs", type=_EPOCHS, help="cap every model's epochs (quick runs)")
    p.add_argument("--seed", type=_SEED, default=0, help="training seed (default 0)")
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

    p = add("validate-real", (_EXPERIMENTS, "cmd_validate_real"),
            "score every checkpoint on real recordings (emoMusic/PMEmo clips, 4Q) with 90%% intervals")
    p.add_argument("--dir", help="checkpoints folder (default: the shipped set)")
    p.add_argument("--checkpoint", help="comma-separated keys (default: all; the baselines are always scored)")
    p.add_argument("--dataset", help="a dataset with dynamic annotations instead of the shared emoMusic/PMEmo clips")
    p.add_argument("--root", help="its folder (with --dataset)")
    p.add_argument("--fourq-root", help="the 4Q folder (default ../shared/data/4q when present)")
    p.add_argument("--no-4q", action="store_true", help="skip 4Q")
    p.add_argument("--no-clips", action="store_true", help="skip the annotated clips")
    p.add_argument("--no-faithfulness", action="store_true", help="skip the deletion tests of the maps")
    p.add_argument("--n-boot", type=_number(int, 1, 1_000_000), default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=_SEED, default=0, help="resampling seed")
    p.add_argument("--write", action="store_true", help="write the figures into the checkpoints' manifest")
    p.add_argument("--json", help="also write the figures as JSON here")


    p = add("reproduce", (_EXPERIMENTS, "cmd_reproduce"),
            "run a paper's experimental protocol and write its tables, our figures beside the paper's")
    _reproduce_options(p)

    _library_commands(sub)

    p = add("checkpoints", (_MODELS, "cmd_checkpoints"), "list the default checkpoints of the manifest and check their SHA-256")
    p.add_argument("--dir", help="checkpoints folder (default: the repository's checkpoints/)")

    p = add("models", (_MODELS, "cmd_models"), "list the models and their presets with parameter counts")
    p.add_argument("--n-features", type=_number(int, 1, 100_000), default=260, help="input features assumed for the counts (default 260)")
    return parser



def command_function(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The function behind a command, its module imported now (the reason the parser names it by string)."""
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command_function", None):
        parser.print_help()
        return 0
    try:
        return int(command_function(*args.command_function)(args) or 0)
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
