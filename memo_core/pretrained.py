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
them: it reads the manifest, checks it against its schema (:data:`MANIFEST_FIELDS`
for the file, :data:`ENTRY_FIELDS` for each entry; every reader goes through
:func:`read_manifest_checked`), checks each file's SHA-256 (a file name must be a
plain name in the folder, and no link may lead out of it), and loads what is
intact; an entry of the wrong shape and a missing, tampered or unloadable
checkpoint are reported with the reason and skipped, and the others still load. Every file is written
atomically, so an interrupted run leaves the previous set usable.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
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
    "ManifestField",
    "MANIFEST_FIELDS",
    "ENTRY_FIELDS",
    "entry_problem",
    "read_manifest",
    "read_manifest_checked",
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



# --------------------------------------------------------------------------- the manifest's schema


@dataclass(frozen=True)
class ManifestField:
    """What one manifest field must hold.

    Attributes:
        what: the rule in words, for the message (``"a whole number >= 0"``).
        check: whether a value (already parsed from JSON) follows the rule.
        required: whether the field must be there.
    """

    what: str
    check: Callable[[Any], bool]
    required: bool = False


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and value.isprintable() and len(value) <= 10_000


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_figures(value: Any) -> bool:
    """``{name: number or null}`` (strict JSON writes NaN as null)."""
    return isinstance(value, dict) and all(v is None or _is_number(v) for v in value.values())


#: A manifest key: also a folder name (``predict`` writes OUT/KEY/) and a file stem.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _is_plain_file_name(value: Any) -> bool:
    """A file directly in the checkpoints folder: no folder part, not absolute, not ``.``/``..``."""
    return (isinstance(value, str) and 0 < len(value) <= 255 and value not in (".", "..")
            and not any(c in value for c in "/\\\x00:") and value.isprintable() and value == value.strip())


#: The manifest as a whole: a file that breaks one of these is refused with one message.
MANIFEST_FIELDS: dict[str, ManifestField] = {
    "format": ManifestField(f"the text {MANIFEST_FORMAT!r}", lambda v: v == MANIFEST_FORMAT, required=True),
    "version": ManifestField("a whole number >= 1", lambda v: _is_count(v) and v >= 1, required=True),
    "checkpoints": ManifestField("a list of entries", lambda v: isinstance(v, list), required=True),
    "created": ManifestField("a text (ISO time)", _is_text),
    "trained_on": ManifestField("an object", lambda v: isinstance(v, dict)),
}

#: One entry of ``checkpoints``: an entry that breaks one of these is skipped with the reason (key and field),
#: and the others still load. Fields not listed (and the figures below, kept as any JSON) are left to their
#: readers, which read them defensively (``memo_core.explain.trust``, ``.familiarity``, ``.faithfulness``).
ENTRY_FIELDS: dict[str, ManifestField] = {
    "key": ManifestField("a name of letters, digits and _.+- (at most 100, not starting with a dot or -)",
                         lambda v: isinstance(v, str) and _KEY.fullmatch(v) is not None, required=True),
    "file": ManifestField("a plain file name inside the checkpoints folder (no folder, '..' or absolute path)",
                          _is_plain_file_name, required=True),
    "sha256": ManifestField("64 lower-case hex digits", lambda v: isinstance(v, str) and _SHA256.fullmatch(v)
                            is not None, required=True),
    "size_bytes": ManifestField("a whole number >= 0", _is_count),
    "model": ManifestField("a non-empty text", _is_text),
    "preset": ManifestField("a non-empty text", _is_text),
    "task": ManifestField("'regression' or 'tagging'", lambda v: v in ("regression", "tagging")),
    "features": ManifestField("a non-empty text or null", lambda v: v is None or _is_text(v)),
    "targets": ManifestField("a list of names", lambda v: isinstance(v, list) and all(_is_text(t) for t in v)),
    "family": ManifestField("a non-empty text", _is_text),
    "paper": ManifestField("a non-empty text", _is_text),
    "purpose": ManifestField("a text", lambda v: isinstance(v, str)),
    "training_data": ManifestField("a text", lambda v: isinstance(v, str)),
    "n_parameters": ManifestField("a whole number >= 0", _is_count),
    "epochs": ManifestField("a whole number >= 0", _is_count),
    "train_seconds": ManifestField("a finite number >= 0", lambda v: _is_number(v) and v >= 0),
    "split_sizes": ManifestField("an object of whole numbers >= 0",
                                 lambda v: isinstance(v, dict) and all(_is_count(n) for n in v.values())),
    "metrics": ManifestField("an object of numbers", _is_figures),
    "clip_metrics": ManifestField("an object of numbers", _is_figures),
}


def _json_kind(value: Any) -> str:
    """What a JSON value is, in words, for a message (``got a list``)."""
    for kind, name in ((bool, "true/false"), (str, "a text"), (int, "a number"), (float, "a number"),
                       (list, "a list"), (dict, "an object")):
        if isinstance(value, kind):
            shown = repr(value) if isinstance(value, (str, int, float)) else None
            return f"{name} {shown[:60]}" if shown else name
    return "null" if value is None else type(value).__name__


def _field_problem(fields: dict[str, ManifestField], data: dict[str, Any]) -> tuple[str, str] | None:
    """The first field of ``data`` that breaks ``fields``: ``(field, what is wrong)``, or None."""
    for name, rule in fields.items():
        if name not in data:
            if rule.required:
                return name, "is missing"
        elif not rule.check(data[name]):
            return name, f"must be {rule.what}, got {_json_kind(data[name])}"
    return None


def entry_problem(entry: Any, position: int | None = None) -> str | None:
    """Why a manifest entry breaks :data:`ENTRY_FIELDS` (naming the entry's key and the field), or ``None``."""
    where = f" {position}" if position is not None else ""
    if not isinstance(entry, dict):
        return f"manifest entry{where} is not an object (got {_json_kind(entry)}); it is skipped"
    found = _field_problem(ENTRY_FIELDS, entry)
    if found is None:
        return None
    field, wrong = found
    key = entry.get("key")
    name = f"{key!r}" if isinstance(key, str) and field != "key" else (where.strip() or "?")
    return (f"manifest entry {name}: field {field!r} {wrong}; it is skipped (retrain it with "
            "`python -m memo_core train-defaults --only KEY`, or restore the manifest)")


def _entry_label(entry: Any, position: int) -> str:
    """The key a skipped entry is reported under: its own when usable, else ``"entry N"``."""
    key = entry.get("key") if isinstance(entry, dict) else None
    return key if isinstance(key, str) and _KEY.fullmatch(key) else f"entry {position}"


def read_manifest_checked(folder: str | Path | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The manifest of a checkpoints folder, checked against :data:`MANIFEST_FIELDS` and :data:`ENTRY_FIELDS`.

    Returns:
        ``(manifest, skipped)``: the manifest with only the entries that follow the schema under
        ``checkpoints`` (in order; a repeated key keeps its first entry), and ``{key: reason}`` for each
        entry left out (``"entry N"``, counted from 1, when the key itself is unusable).

    Raises:
        CheckpointError: no manifest, or one that is not valid JSON of the expected format (one message,
            naming the field).
    """
    folder = Path(folder).expanduser() if folder is not None else default_checkpoints_dir()
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise CheckpointError(f"no {MANIFEST_NAME} in {folder}: train the defaults with "
                              "`python -m memo_core train-defaults`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(f"{path} is not readable JSON ({exc}); restore it with git or run "
                              "`python -m memo_core train-defaults`") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(f"{path} is not a MEMO checkpoint manifest (no \"format\": {MANIFEST_FORMAT!r})")
    if _is_count(data.get("version")) and data["version"] > MANIFEST_VERSION:
        raise CheckpointError(f"{path} has manifest version {data['version']}; upgrade memo_core")
    found = _field_problem(MANIFEST_FIELDS, data)
    if found is not None:
        raise CheckpointError(f"{path} is not a usable MEMO checkpoint manifest: field {found[0]!r} {found[1]}; "
                              "restore it with git or run `python -m memo_core train-defaults`")
    entries, skipped = [], {}
    for position, entry in enumerate(data["checkpoints"], start=1):
        label = _entry_label(entry, position)
        problem = entry_problem(entry, position)
        if problem is None and any(e["key"] == entry["key"] for e in entries):
            problem = f"manifest entry {entry['key']!r} repeats the key of an earlier entry; it is skipped"
            label = f"entry {position}"
        if problem is None:
            entries.append(entry)
        else:
            skipped[label if label not in skipped else f"entry {position}"] = problem
    return {**data, "checkpoints": entries}, skipped


def read_manifest(folder: str | Path | None = None) -> dict[str, Any]:
    """The manifest of a checkpoints folder, with only the entries that follow the schema
    (:func:`read_manifest_checked` says why the others were left out).

    Raises:
        CheckpointError: no manifest, or one that is not valid JSON of the expected format.
    """
    return read_manifest_checked(folder)[0]


def check_entry(folder: str | Path, entry: dict[str, Any]) -> str | None:
    """Why a manifest entry's file cannot be trusted (breaks the schema, lies outside the folder, missing, size or
    SHA-256 mismatch), or ``None``."""
    problem = entry_problem(entry)
    if problem is not None:
        return problem
    name = entry["file"]
    path = Path(folder) / name
    try:
        # a link may rename a checkpoint but not lead out of the folder: what is checked is what is loaded
        outside = path.resolve().parent != Path(folder).resolve()
    except (OSError, RuntimeError):
        outside = True
    if outside:
        return f"{name} (manifest entry {entry['key']!r}) leads outside {folder}: a checkpoint must be a file in it"
    if not path.is_file():
        return f"{name} is missing"
    if "size_bytes" in entry and path.stat().st_size != entry["size_bytes"]:
        return f"{name} has {path.stat().st_size} bytes, the manifest says {entry['size_bytes']}: changed or truncated"
    if sha256_of(path) != entry["sha256"]:
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
        manifest, skipped = read_manifest_checked(folder)
    except CheckpointError as exc:
        return {}, {"manifest": str(exc)}
    loaded, problems = {}, {}
    wanted = set(keys) if keys else None
    problems.update({k: v for k, v in skipped.items() if wanted is None or k in wanted})
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
