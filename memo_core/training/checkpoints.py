"""Save and load trained models: plain data and tensors only, rebuilt through the registry.

A checkpoint is one file ``torch.save`` writes and ``torch.load(path,
weights_only=True)`` reads (no pickled code), holding::

    format          "memo-checkpoint"
    version         CHECKPOINT_VERSION
    model           {"name": registry name, "config": the model config as a dict}
    state_dict      the weights
    feature_spec    the extractor's spec() (name, params, n_features, versions)
    normalizer      {"mean": tensor, "std": tensor}
    targets         ["valence", "arousal"] (output column order)
    train_info      dataset, root, split song ids, counts, training config
    metrics         held-out metrics (stable names)
    history         training curves
    versions        torch, numpy, memo_core at saving time
    created         ISO time

:func:`load_checkpoint` rebuilds the model with
``get_model(name, **config)``; every way a file can fail to be a usable
checkpoint raises :class:`~memo_core.errors.CheckpointError` with a message that
says which.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib.metadata
import os
import pickle
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from memo_core import __version__
from memo_core.data.sequences import Normalizer
from memo_core.errors import CheckpointError, MemoError
from memo_core.features import get_extractor
from memo_core.models.registry import get_model, model_config

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointWarning",
    "LoadedCheckpoint",
    "save_checkpoint",
    "load_checkpoint",
    "check_feature_spec",
    "library_versions",
]

CHECKPOINT_FORMAT = "memo-checkpoint"
#: Bump when the layout changes; older versions stay loadable where possible.
CHECKPOINT_VERSION = 1


class CheckpointWarning(UserWarning):
    """The checkpoint was saved with other library versions; predictions may differ slightly."""


@dataclass
class LoadedCheckpoint:
    """A checkpoint ready to predict.

    Attributes:
        model: the rebuilt model, weights loaded, eval mode.
        feature_spec: the training features' spec (name, params, n_features, ...).
        normalizer: the training feature statistics.
        targets: output column names.
        info: everything else: ``model_name``, ``model_config``, ``train_info``,
            ``metrics``, ``history``, ``versions``, ``created``, ``path``.
    """

    model: torch.nn.Module
    feature_spec: dict[str, Any]
    normalizer: Normalizer
    targets: tuple[str, ...]
    info: dict[str, Any]


def library_versions() -> dict[str, str]:
    """Versions of torch, numpy and memo_core."""

    versions = {"torch": str(torch.__version__), "numpy": str(np.__version__), "memo_core": str(__version__)}
    try:
        versions["memo_core"] = importlib.metadata.version("memo_core")
    except importlib.metadata.PackageNotFoundError:
        pass
    return versions


def _plain(value: Any, where: str) -> Any:
    """``value`` as types ``torch.load(weights_only=True)`` accepts, or MemoError."""
    if value is None or isinstance(value, bool):
        return value
    for plain in (int, float, str):  # subclasses (torch's TorchVersion, IntEnum) would not load safely
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value).copy())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return _plain(value.to_dict(), where)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value), where)
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise CheckpointError(f"cannot store {where} of type {type(value).__name__} in a checkpoint (plain data and tensors only)")


def save_checkpoint(
    path: str | os.PathLike,
    model: torch.nn.Module,
    *,
    feature_spec: dict[str, Any],
    normalizer: Normalizer,
    targets: tuple[str, ...] | list[str],
    train_info: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    history: Any = None,
) -> Path:
    """Write a checkpoint atomically (temp file in the same folder, then rename).

    Args:
        path: the file to write (folders are created).
        model: a registered model (has ``registry_name`` and a dataclass ``config``).
        feature_spec: ``get_extractor(name).spec()`` of the training features.
        normalizer: the training feature statistics.
        targets: output column names.
        train_info: the data it was trained on (dataset, root, split ids or counts, ...).
        metrics: held-out metrics.
        history: a :class:`~memo_core.training.loop.History` or its dict.

    Returns:
        The path written.

    Raises:
        MemoError: the model is not a registered model, or some value is not plain data.
    """
    name = getattr(model, "registry_name", None)
    config = getattr(model, "config", None)
    if not name or name == "?" or not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        raise CheckpointError(f"{type(model).__name__} is not a registered MEMO model (no registry_name and dataclass config)")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {"name": name, "config": _plain(dataclasses.asdict(config), "config")},
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "feature_spec": _plain(feature_spec, "feature_spec"),
        "normalizer": normalizer.to_dict(),
        "targets": [str(t) for t in targets],
        "train_info": _plain(train_info or {}, "train_info"),
        "metrics": _plain(metrics or {}, "metrics"),
        "history": _plain(history or {}, "history"),
        "versions": _plain(library_versions(), "versions"),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file; give the .pt file `python -m memo_core train --out` wrote")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # a pickled class or function, which weights_only refuses
            raise CheckpointError(
                f"{path} holds Python objects beyond plain data and tensors: it is not a MEMO checkpoint "
                "(refusing to unpickle code from it)"
            ) from None
        raise CheckpointError(f"{path} is not a PyTorch file, or it is corrupt") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types on non-torch bytes (KeyError, EOFError, ...)
        first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path} is not a PyTorch file, or it is truncated ({first})") from None


def _retuple(name: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Stored lists back to tuples, nested ones too, where the model's config has tuples (checkpoints keep lists)."""

    try:
        defaults = dataclasses.asdict(model_config(name))
    except (MemoError, TypeError):
        return config
    return {k: _as_tuples(v) if isinstance(v, list) and isinstance(defaults.get(k), tuple) else v
            for k, v in config.items()}


def _as_tuples(value: Any) -> Any:
    """Lists to tuples at every depth (VGGish's ``pools`` is a tuple of (freq, time) tuples)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


#: A stored config's integers stay below this or the stored weights' element count, whichever is larger (no
#: model's config holds a larger number than its weight count: sizes make weights), its tuples below
#: _MAX_ITEMS items and its strings below _MAX_TEXT characters.
_MAX_CONFIG_INT = 10_000
_MAX_ITEMS = 1024
_MAX_TEXT = 1000


def _check_config_values(path: Path, name: Any, config: dict[str, Any], stored: int) -> None:
    """Refuse a stored config with values no trained model has (huge sizes, NaN, long tuples) before building it.

    Raises:
        CheckpointError: naming the field and the bound.
    """
    limit = max(_MAX_CONFIG_INT, stored)

    def check(field: str, value: Any) -> None:
        problem = None
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, int):
            # a seed sizes nothing (any 32-bit value is legal); every other integer of a config sizes weights
            if field.endswith("seed") and 0 <= value < 2**32:
                return
            if not 0 <= value <= limit:
                problem = f"{value}, outside 0 .. {limit:,} (the stored weights hold {stored:,} numbers)"
        elif isinstance(value, float):
            if not np.isfinite(value):
                problem = f"{value}, not a finite number"
        elif isinstance(value, str):
            if len(value) > _MAX_TEXT:
                problem = f"a text of {len(value):,} characters (at most {_MAX_TEXT})"
        elif isinstance(value, (list, tuple)):
            if len(value) > _MAX_ITEMS:
                problem = f"a list of {len(value):,} items (at most {_MAX_ITEMS})"
            else:
                for item in value:
                    check(field, item)
        else:
            problem = f"a {type(value).__name__}, not a number, text or list"
        if problem:
            raise CheckpointError(f"{path}: the stored config of {name!r} is not one a trained model has: "
                                  f"{field} is {problem}. The file is damaged or was not written by MEMO.")

    for field, value in config.items():
        check(str(field), value)


def _check_fits(path: Path, name: Any, skeleton: torch.nn.Module, state: dict[str, Any],
                targets: list[str] | tuple[str, ...]) -> None:
    """The stored weights and targets fit the model the config builds (``skeleton``, on the meta device)."""
    want = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    if want != have:
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        shapes = [f"{k} {have[k]} (the model has {want[k]})" for k in want if k in have and want[k] != have[k]]
        detail = "; ".join(part for part in (
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"unexpected {', '.join(extra[:3])}" if extra else "",
            f"shapes {', '.join(shapes[:3])}" if shapes else "") if part)
        raise CheckpointError(f"{path}: the stored weights do not fit {name!r} with its stored config ({detail})")
    n_outputs = getattr(skeleton, "n_targets", None)
    if isinstance(n_outputs, int) and n_outputs != len(targets):
        raise CheckpointError(f"{path}: it names {len(targets)} targets ({', '.join(map(str, targets))}) but its "
                              f"model has {n_outputs} outputs; the file is damaged or was not written by MEMO")


def load_checkpoint(path: str | os.PathLike) -> LoadedCheckpoint:
    """Read a checkpoint and rebuild its model through the registry (eval mode).

    Raises:
        CheckpointError: the path is not a file, not a torch file, not a MEMO
            checkpoint, from a newer MEMO, names an unknown model, or holds a
            config or weights that do not fit the model.
    """

    path = Path(path).expanduser()
    data = _read(path)
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a MEMO checkpoint (no format {CHECKPOINT_FORMAT!r})")
    version = data.get("version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} is a MEMO checkpoint of format version {version!r}; this memo_core reads up to "
            f"{CHECKPOINT_VERSION}: upgrade memo_core"
        )
    missing = [k for k in ("model", "state_dict", "feature_spec", "normalizer", "targets") if k not in data]
    if missing:
        raise CheckpointError(f"{path} is an incomplete MEMO checkpoint: missing {', '.join(missing)}")
    model_info, state = data["model"], data["state_dict"]
    if not isinstance(model_info, dict) or not isinstance(model_info.get("config") or {}, dict):
        raise CheckpointError(f"{path}: its model entry is not a name and a config; it is not a usable MEMO checkpoint")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: its state_dict is not a table of tensors; it is not a usable MEMO checkpoint")
    name, config = model_info.get("name"), dict(model_info.get("config") or {})
    targets = data["targets"]
    if not isinstance(targets, (list, tuple)) or not targets or not all(isinstance(t, str) for t in targets):
        raise CheckpointError(f"{path}: its targets must be a list of output names, got {targets!r}")
    stored = sum(v.numel() for v in state.values())
    _check_config_values(path, name, config, stored)
    try:
        # The model's shape first, on torch's "meta" device (no memory): a crafted config must not allocate
        # gigabytes before it is refused.
        with torch.device("meta"):
            skeleton = get_model(name, **_retuple(name, config))
        _check_fits(path, name, skeleton, state, targets)
        model = get_model(name, **_retuple(name, config))
    except CheckpointError:
        raise
    except MemoError as exc:
        raise CheckpointError(f"{path} cannot be rebuilt: {exc}") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{path}: the stored config of {name!r} does not fit the model ({exc})") from None
    except (RuntimeError, NotImplementedError) as exc:  # a model that computes in __init__, e.g. on "meta"
        raise CheckpointError(f"{path}: {name!r} could not be rebuilt from its stored config "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: the stored weights do not fit {name!r} with its stored config "
            f"({str(exc).splitlines()[0][:200]})"
        ) from None
    model.eval()
    saved = data.get("versions") or {}
    now = library_versions()
    differ = {k: (saved.get(k), v) for k, v in now.items() if saved.get(k) not in (None, v)}
    if differ:
        warnings.warn(
            f"{path.name} was saved with " + ", ".join(f"{k} {a} (now {b})" for k, (a, b) in differ.items())
            + "; predictions may differ slightly",
            CheckpointWarning,
            stacklevel=2,
        )
    info = {k: v for k, v in data.items() if k not in ("state_dict", "normalizer", "feature_spec", "targets", "model")}
    info.update({"model_name": name, "model_config": config, "path": str(path)})
    return LoadedCheckpoint(
        model=model,
        feature_spec=dict(data["feature_spec"]),
        normalizer=Normalizer.from_dict(data["normalizer"]),
        targets=tuple(targets),
        info=info,
    )


def check_feature_spec(checkpoint: LoadedCheckpoint | dict[str, Any], extractor: Any) -> None:
    """Check features from ``extractor`` are the ones the checkpoint was trained on.

    Name, parameters, ``n_features`` and frame length must match; a different
    feature code version or library versions only warn (:class:`CheckpointWarning`).

    Args:
        checkpoint: a loaded checkpoint, or its ``feature_spec`` dict.
        extractor: a :class:`~memo_core.features.FeatureExtractor`, its spec
            dict, or a feature set name (default parameters).

    Raises:
        CheckpointError: the features do not match.
    """

    want = checkpoint.feature_spec if isinstance(checkpoint, LoadedCheckpoint) else dict(checkpoint)
    if isinstance(extractor, str):
        extractor = get_extractor(extractor)
    have = extractor if isinstance(extractor, dict) else extractor.spec()
    problems = []
    for key in ("name", "params", "n_features", "frame_seconds"):
        a, b = want.get(key), have.get(key)
        if key == "params":
            a, b = dict(a or {}), dict(b or {})
        if key == "frame_seconds" and a is not None and b is not None:
            if abs(float(a) - float(b)) < 1e-9:
                continue
        if a != b:
            problems.append(f"{key} {b!r} (the model was trained with {a!r})")
    if problems:
        raise CheckpointError("the features do not match the checkpoint: " + "; ".join(problems))
    notes = []
    if want.get("code_version") != have.get("code_version"):
        notes.append(f"feature code version {want.get('code_version')} (now {have.get('code_version')})")
    libs_a, libs_b = want.get("libraries") or {}, have.get("libraries") or {}
    notes += [f"{k} {libs_a[k]} (now {libs_b.get(k)})" for k in libs_a if libs_a[k] != libs_b.get(k)]
    if notes:
        warnings.warn("features were computed with " + ", ".join(notes) + " when the model was trained",
                      CheckpointWarning, stacklevel=2)
