"""What several commands share: audio inputs, training options, checkpoint specs."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

from memo_core.data import synth
from memo_core.errors import MemoError
from memo_core.pretrained import default_checkpoints_dir, load_default_checkpoints
from memo_core.training.checkpoints import load_checkpoint

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")



def _audio_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    raise MemoError(f"{path} does not exist. Give an audio file or a folder of audio files.")



def _audio_inputs(audio: str) -> list[tuple[Path, Path]]:
    """The audio files under ``audio`` with the output name of each (relative, without a suffix).

    One rule for a file and a folder (:data:`memo_core.cli.parser.OUTPUT_NAMES`): an output is named
    after its audio file without the audio suffix (``3.mp3`` -> ``3``), in the
    file's subfolder under the folder given. Files of one folder whose names
    differ only by the suffix (``a.wav`` beside ``a.mp3``, compared ignoring
    case) keep it (``a.wav``, ``a.mp3``), so no output overwrites another; a
    note on stderr names them, and every other file keeps the plain rule.

    Raises:
        MemoError: ``audio`` does not exist, holds no audio file, or two outputs
            would still share a name (``a.wav.flac`` beside ``a.wav`` and ``a.flac``).
    """
    files = _audio_files(Path(audio))
    if not files:
        raise MemoError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {audio}.")
    root = Path(audio) if Path(audio).is_dir() else Path(audio).parent
    relative = [p.relative_to(root) for p in files]

    def key(name: Path) -> str:
        return name.as_posix().casefold()

    shared = Counter(key(r.with_suffix("")) for r in relative)
    clashing = [r for r in relative if shared[key(r.with_suffix(""))] > 1]
    stems = [r if shared[key(r.with_suffix(""))] > 1 else r.with_suffix("") for r in relative]
    taken = Counter(key(s) for s in stems)
    if any(n > 1 for n in taken.values()):
        same = sorted(str(r) for r, s in zip(relative, stems) if taken[key(s)] > 1)
        raise MemoError(f"{', '.join(same)} would write outputs of the same name: rename one of them, or give "
                        "them as separate inputs with separate --out folders.")
    if clashing:
        print(f"note: {', '.join(map(str, clashing))} differ only by their suffix: their outputs keep it "
              f"({', '.join(f'{r}.*' for r in clashing)}).", file=sys.stderr)
    return list(zip(files, stems))



@contextmanager
def _file_warnings(path: Path) -> Iterator[None]:
    """Show memo_core's warnings while one input file is processed (silent audio, a damaged cache entry
    recomputed, ...) on stderr, each once, named by the file; a failure inside still shows them. Third-party
    libraries' warnings (torch, librosa internals) stay hidden: they say nothing a user can act on."""
    package = str(Path(__file__).resolve().parents[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            shown: set[str] = set()
            for item in caught:
                text = str(item.message)
                ours = item.category.__module__.startswith("memo_core") or str(item.filename).startswith(package)
                if text in shown or not ours:
                    continue
                shown.add(text)
                named = text if (str(path) in text or path.name in text) else f"{path}: {text}"
                tqdm.write(f"warning: {named}", file=sys.stderr)



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

    def on_epoch(record: dict) -> None:
        line = (f"epoch {record['epoch']:>3}: train {record['train_loss']:.4f}  val {record['val_loss']:.4f}"
                f"  ({record['seconds']:.1f} s){'  *best' if record['best'] else ''}")
        (print if quiet else tqdm.write)(line)

    return on_epoch



def _resolve_checkpoint(spec: str):
    """A checkpoint file, or a key of the default manifest (checked against its SHA-256)."""

    if Path(spec).expanduser().exists() or spec.endswith(".pt") or "/" in spec:
        return load_checkpoint(spec)
    loaded, problems = load_default_checkpoints(keys=[spec])
    if spec in loaded:
        return loaded[spec]
    raise MemoError(f"{spec} is neither a checkpoint file nor a usable default checkpoint in "
                    f"{default_checkpoints_dir()} ({problems.get(spec) or problems.get('manifest')})")



def _training_root(args: argparse.Namespace):
    """The dataset folder; for ``synth`` without ``--root``, the default corpus, rendered on first use."""
    if args.root or args.dataset != "synth":
        return args.root

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
