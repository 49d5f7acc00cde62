"""What several commands share: audio inputs, training options, checkpoint specs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
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
