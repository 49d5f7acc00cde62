"""The shipped default checkpoints: which models, how they are trained, and their manifest.

``python -m memo_core train-defaults`` trains :data:`DEFAULT_SET` on the
synthetic corpus (rendered first if needed) and writes, into ``checkpoints/``,
one checkpoint per entry and ``manifest.json``::

    {"format": "memo-manifest", "version": 1, "created": ISO time,
     "trained_on": {"dataset": "synth", "corpus": corpus.json's parameters, ...},
     "checkpoints": [{"key", "file", "model", "preset", "family", "paper", "task",
                      "features", "targets", "purpose", "training_data", "split_sizes",
                      "metrics", "n_parameters", "size_bytes", "sha256",
                      "train_seconds", "epochs"}, ...]}

:func:`load_default_checkpoints` is how the dashboard and ``predict`` find
them: it reads the manifest, checks each file's SHA-256, and loads what is
intact; a missing, tampered or unloadable checkpoint is reported with the
reason and skipped, and the others still load. Every file is written
atomically, so an interrupted run leaves the previous set usable.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo_core.errors import CheckpointError, MemoError
from memo_core.training.checkpoints import load_checkpoint

__all__ = [
    "MANIFEST_NAME",
    "FEATURE_SUBSET_FAMILY",
    "FEATURE_SUBSETS",
    "DefaultSpec",
    "DEFAULT_SET",
    "default_checkpoints_dir",
    "sha256_of",
    "read_manifest",
    "check_entry",
    "load_default_checkpoints",
]

MANIFEST_NAME = "manifest.json"



MANIFEST_FORMAT = "memo-manifest"



MANIFEST_VERSION = 1



CHECKPOINTS_ENV = "MEMO_CHECKPOINTS_DIR"



#: The manifest family of the AT checkpoints trained on the other feature sets (Chaki et al. Tables 3-4).
FEATURE_SUBSET_FAMILY = "Feature subsets"



#: The feature sets of the feature-subset comparison (Chaki et al. 2020, Table 3-4 style), one small AT each.
FEATURE_SUBSETS = ("chroma", "cqt", "chroma_cqt", "spectral", "deam260", "compare6373")



@dataclass(frozen=True)
class DefaultSpec:
    """One shipped checkpoint.

    Attributes:
        key: its name in the manifest and the file name (``KEY.pt``).
        model, preset: the registered model and preset.
        features: its feature set (``None``: the model's own).
        family: the paper family, for grouping in the app.
        paper: the paper it reproduces.
        purpose: what the dashboard shows it for.
        max_epochs: cap on the paper's epoch count, to fit the one-hour budget on 2 cores.
        train_overrides: training settings that differ from the paper's, each stated in ``purpose``'s
            README row and the manifest (``train_overrides``).
    """

    key: str
    model: str
    preset: str
    features: str | None
    family: str
    paper: str
    purpose: str
    max_epochs: int | None = None
    train_overrides: tuple[tuple[str, Any], ...] = ()



#: The per-frame families' features: the MediaEval 2015 / DEAM baseline descriptors Ma et al. and Li et al. use
#: (``deam260``), with key/mode, tonnetz and loudness beside them (``deam260_tonal``: valence cues such as mode
#: live there, and ``deam260`` alone has no pitch-class feature).
_SEQ = "deam260_tonal"



BASELINE_FAMILY = "Baselines"



#: The taggers learn a few hundred real clips from scratch in 30 epochs on a CPU: Adam at 1e-3, not the
#: paper's 1e-4 (at 1e-4 and 15 epochs their tag ROC-AUC on held-out 4Q artists stayed below 0.5).
_TAGGER_LR = (("lr", 1e-3),)



#: The shipped MCA checkpoints were trained before ``TrainConfig.restore`` existed: ``fit`` restored the best
#: validation epoch (epoch 2 of 30), where Ma et al. keep the last epoch (the models' paper default). Kept so that
#: ``train-defaults`` retrains the shipped recipe.
_SHIPPED_BEST_EPOCH = (("restore", "best"),)



#: The shipped DBLSTM-ELM was trained before per-network stopping existed: one stopping decision and one restored
#: epoch (39 of 40) for its four networks, where Li et al. stop each DBLSTM on its own (the model's paper default).
_SHIPPED_JOINT_STOPPING = (("stopping", "joint"),)



DEFAULT_SET: tuple[DefaultSpec, ...] = (
    DefaultSpec("loudness", "loudness", "paper", "loudness", BASELINE_FAMILY, "baseline (issue #11)",
                "the loudness baseline: one feature, the RMS level of the preceding 2 s", None),
    DefaultSpec("mlr", "mlr", "paper", _SEQ, BASELINE_FAMILY, "MediaEval 2015 baseline",
                "per-frame linear regression on the same features as the explained models", None),
    DefaultSpec("songlin", "songlin", "paper", _SEQ, BASELINE_FAMILY, "baseline (issue #18)",
                "song-level ridge on feature statistics: one value per song, the bar on real recordings", None),
    DefaultSpec("mca", "mca", "tiny", _SEQ, "MCA", "Ma et al. 2017",
                "MCA over A-LSTMs at 5, 10, 20 frames: scale weights and window attention", 30,
                _SHIPPED_BEST_EPOCH),
    DefaultSpec("mca_uniform", "mca", "uniform_tiny", _SEQ, "MCA", "Ma et al. 2017",
                "uniform MCA, to compare with the learned scale weights", 30, _SHIPPED_BEST_EPOCH),
    DefaultSpec("dblstm_elm", "dblstm_elm", "tiny", _SEQ, "DBLSTM-ELM", "Li et al. 2016",
                "DBLSTMs at 10/20/30/60 frames fused by an ELM; per-scale outputs", 40, _SHIPPED_JOINT_STOPPING),
    DefaultSpec("at", "at", "tiny", _SEQ, "AT/BAT", "Chaki et al. 2020", "attention maps over all frames", 60),
    DefaultSpec("bat", "bat", "tiny", _SEQ, "AT/BAT", "Chaki et al. 2020", "causal (backward) attention maps", 60),
    DefaultSpec("chaki_lstm", "chaki_lstm", "tiny", _SEQ, "AT/BAT", "Chaki et al. 2020", "LSTM baseline", 60),
    DefaultSpec("transformer", "transformer", "tiny", _SEQ, "AT/BAT", "Chaki et al. 2020",
                "Transformer baseline: maps per layer and head", 60),
    DefaultSpec("damff", "damff", "tiny", None, "DAMFF", "Zhang et al. 2023",
                "spatial and channel attention and the fusion gate on the log-mel", 10),
    DefaultSpec("vggish", "vggish", "tiny", None, "VGG-ish", "Rajamani et al. 2020 (MTG-Jamendo baseline)",
                "mood/theme tags", 30, _TAGGER_LR),
    DefaultSpec("vggish_sa3", "vggish", "tiny_sa3", None, "VGG-ish", "Rajamani et al. 2020",
                "mood/theme tags with self-attention maps (layer 3)", 30, _TAGGER_LR),
    DefaultSpec("vggish_arelu", "vggish", "tiny_arelu", None, "VGG-ish", "Rajamani et al. 2020",
                "mood/theme tags, AReLU; late fusion with the others", 30, _TAGGER_LR),
    *(DefaultSpec(f"at_{name}", "at", "tiny", name, FEATURE_SUBSET_FAMILY, "Chaki et al. 2020",
                  f"AT on `{name}` for the feature-subset comparison", 60)
      for name in FEATURE_SUBSETS if name != _SEQ),
)



def default_checkpoints_dir() -> Path:
    """``$MEMO_CHECKPOINTS_DIR``, else the repository's ``checkpoints/``."""
    env = os.environ.get(CHECKPOINTS_ENV)
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[1] / "checkpoints"



def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()



#: A source of :func:`train_default_set`: ``(dataset name, folder or None, weight)``.
SourceSpec = tuple[str, "str | Path | None", float]



def read_manifest(folder: str | Path | None = None) -> dict[str, Any]:
    """The manifest of a checkpoints folder.

    Raises:
        CheckpointError: no manifest, or one that is not valid JSON of the expected format.
    """
    folder = Path(folder).expanduser() if folder is not None else default_checkpoints_dir()
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise CheckpointError(f"no {MANIFEST_NAME} in {folder}: train the defaults with "
                              "`python -m memo_core train-defaults`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not readable JSON ({exc}); restore it with git or run "
                              "`python -m memo_core train-defaults`") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(
            data.get("checkpoints"), list):
        raise CheckpointError(f"{path} is not a MEMO checkpoint manifest")
    if int(data.get("version", 0)) > MANIFEST_VERSION:
        raise CheckpointError(f"{path} has manifest version {data.get('version')}; upgrade memo_core")
    return data



def check_entry(folder: str | Path, entry: dict[str, Any]) -> str | None:
    """Why a manifest entry's file cannot be trusted (missing, size or SHA-256 mismatch), or ``None``."""
    name = str(entry.get("file", ""))
    if not name or Path(name).name != name:
        return f"manifest entry {entry.get('key')!r} names no plain file ({name!r})"
    path = Path(folder) / name
    if not path.is_file():
        return f"{name} is missing"
    if entry.get("size_bytes") is not None and path.stat().st_size != int(entry["size_bytes"]):
        return f"{name} has {path.stat().st_size} bytes, the manifest says {entry['size_bytes']}: changed or truncated"
    if sha256_of(path) != entry.get("sha256"):
        return f"{name} does not match its SHA-256 in the manifest: changed or damaged"
    return None



def load_default_checkpoints(folder: str | Path | None = None, *, keys: Sequence[str] | None = None,
                             ) -> tuple[dict[str, Any], dict[str, str]]:
    """Load the intact default checkpoints; report the others.

    Args:
        folder: the checkpoints folder (default :func:`default_checkpoints_dir`).
        keys: only these manifest keys (default: all).

    Returns:
        ``(loaded, problems)``: ``{key: LoadedCheckpoint}`` (with the manifest
        entry under ``info["manifest"]``) in manifest order, and ``{key: reason}``
        for every entry skipped (a missing manifest gives ``{"manifest": reason}``).
    """

    folder = Path(folder).expanduser() if folder is not None else default_checkpoints_dir()
    try:
        manifest = read_manifest(folder)
    except CheckpointError as exc:
        return {}, {"manifest": str(exc)}
    loaded, problems = {}, {}
    wanted = set(keys) if keys else None
    for entry in manifest["checkpoints"]:
        key = str(entry.get("key"))
        if wanted is not None and key not in wanted:
            continue
        problem = check_entry(folder, entry)
        if problem is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # library-version notes; the manifest says what it was made with
                    ckpt = load_checkpoint(folder / entry["file"])
            except MemoError as exc:
                problem = str(exc)
            else:
                ckpt.info["manifest"] = entry
                loaded[key] = ckpt
        if problem is not None:
            problems[key] = problem
    for key in sorted((wanted or set()) - set(loaded) - set(problems)):
        problems[key] = f"no checkpoint {key!r} in the manifest"
    return loaded, problems
