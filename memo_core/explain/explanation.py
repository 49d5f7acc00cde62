"""Predict one song with a checkpoint and turn the model's explanation maps into arrays with time axes.

Every map a model returns under a stable name (see
:mod:`memo_core.models.outputs`) becomes ``{"values": array, "axes": {...}}``
with the batch axis dropped and each axis named; time axes hold frame START
times in seconds (frame ``i`` covers ``[0.5 i, 0.5 i + 0.5)`` s, as the
features and the predictions CSV):

=======================  ===========================================================
map                      axes (in order)
=======================  ===========================================================
``temporal_attention``   ``query_time_s``, ``key_time_s``
``window_attention/L``   ``time_s``, ``lag_s`` (``-(L-1)*0.5 .. 0``: 0 is frame t)
``scale_weights``        ``time_s``, ``scale``
``scale_predictions``    ``time_s``, ``scale``, ``target``
``scale_shares``         ``time_s``, ``scale``, ``target``
``layer_attention``      ``layer``, ``head``, ``query_time_s``, ``key_time_s``
other names              ``time_s`` for axis 0 when it has n_frames rows, else ``axis0``; ``axisK`` after
=======================  ===========================================================

A model may name the axes of maps only it returns (DAMFF's ``spatial_attention``,
the tagger's ``tag_windows``, ...) through its ``explanation_axes`` hook; its
docstring lists them. A hook that takes ``feature_params`` is given the
checkpoint's own feature parameters, so its axes carry the checkpoint's geometry
(DAMFF's rows are ``mel_hz``, the centre frequency of each row of mel bands at
the sample rate its log-mel was computed at).

A tagger (``task == "tagging"``) gives one row per tag instead of one per
frame: ``predictions`` has ``tag, score, threshold, predicted`` (score =
sigmoid of the logit; threshold chosen on validation data at training time).

Files (:func:`write_predictions_csv`, :func:`write_explanations_npz`): a CSV
``time_s,valence,arousal,frame_end_s`` per frame, ``time_s`` the frame's start
and ``frame_end_s`` its end (taggers: ``tag,score,threshold,predicted``),
and an ``.npz`` holding for each map
``KEY`` (the name with ``/`` written as ``_``) the array ``KEY`` and one array
``KEY__AXIS`` per axis, plus ``map_names`` (the original names, in the order of
``map_keys``), ``time_s`` and ``prediction`` [shape=(n_frames, n_targets)]
(taggers: ``tag_scores`` and ``tag_thresholds`` [shape=(n_tags,)]) and ``targets``.
"""

from __future__ import annotations

import inspect
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from memo_core.audio import FRAME_SECONDS, Audio, load_audio
from memo_core.errors import MemoError
from memo_core.explain.familiarity import DISTANCE_MAP, distance_map
from memo_core.features import extract, get_extractor
from memo_core.fileio import atomic_write
from memo_core.postprocess import triangle_smooth
from memo_core.training.checkpoints import (
    LoadedCheckpoint,
    check_feature_spec,
    load_checkpoint,
)

__all__ = [
    "SongExplanation",
    "explain_song",
    "explain_features",
    "explanation_axes",
    "fuse_tag_explanations",
    "write_predictions_csv",
    "FRAME_END_COLUMN",
    "write_explanations_npz",
    "read_explanations_npz",
]


@dataclass
class SongExplanation:
    """One song's predictions and explanation maps.

    Attributes:
        source: the audio's name.
        predictions: one row a frame: ``time_s`` then one column per target
            (taggers: one row a tag: ``tag, score, threshold, predicted``).
        explanations: ``{name: {"values": array, "axes": {axis name: array}}}``.
        targets: target names.
        smoothed: whether the triangle filter was applied to the predictions.
        model_name: the checkpoint's model.
    """

    source: str
    predictions: pd.DataFrame
    explanations: dict[str, dict[str, Any]] = field(default_factory=dict)
    targets: tuple[str, ...] = ("valence", "arousal")
    smoothed: bool = False
    model_name: str = ""
    task: str = "regression"

    def tag_scores(self) -> pd.Series:
        """A tagger's scores indexed by tag, highest first (raises for a per-frame model)."""
        if self.task != "tagging":
            raise MemoError(f"{self.model_name} predicts curves, not tags")
        return self.predictions.set_index("tag")["score"].sort_values(ascending=False)


def explanation_axes(name: str, shape: tuple[int, ...], *, n_frames: int, targets: tuple[str, ...],
                     frame_seconds: float = FRAME_SECONDS) -> dict[str, np.ndarray]:
    """Named axes for a map of ``shape`` (batch axis already dropped), in axis order."""
    t = np.arange(n_frames, dtype=np.float64) * frame_seconds
    base = name.split("/", 1)[0]
    idx = lambda k: np.arange(shape[k])  # noqa: E731
    if base == "temporal_attention" and len(shape) == 2:
        return {"query_time_s": t[: shape[0]], "key_time_s": t[: shape[1]]}
    if base == "window_attention" and len(shape) == 2:
        return {"time_s": t[: shape[0]], "lag_s": (np.arange(shape[1]) - (shape[1] - 1)) * frame_seconds}
    if base == "scale_weights" and len(shape) == 2:
        return {"time_s": t[: shape[0]], "scale": idx(1)}
    if base in ("scale_predictions", "scale_shares") and len(shape) == 3:
        target = np.asarray(targets) if len(targets) == shape[2] else idx(2)
        return {"time_s": t[: shape[0]], "scale": idx(1), "target": target}
    if base == "layer_attention" and len(shape) == 4:
        return {"layer": idx(0), "head": idx(1), "query_time_s": t[: shape[2]], "key_time_s": t[: shape[3]]}
    axes = {}
    for k, size in enumerate(shape):
        axes["time_s" if k == 0 and size == n_frames else f"axis{k}"] = t if (k == 0 and size == n_frames) else idx(k)
    return axes


def explain_song(
    checkpoint: LoadedCheckpoint | str | os.PathLike,
    audio_or_path: Audio | str | os.PathLike | bytes,
    *,
    smooth: bool = False,
    cache: bool = True,
    explain: bool = True,
) -> SongExplanation:
    """Predict one song and collect its explanation maps.

    Args:
        checkpoint: a loaded checkpoint or its path.
        audio_or_path: an :class:`~memo_core.audio.Audio`, a file path or the bytes of a file.
        smooth: apply Ma et al.'s 25-frame triangle filter to the predictions
            (the maps are left as the model gave them).
        cache: use the on-disk feature cache.
        explain: compute the explanation maps (``False``: predictions only, see
            :func:`explain_features`).

    Returns:
        The :class:`SongExplanation`.

    Raises:
        MemoError: bad audio, a checkpoint that cannot be loaded, or features
            that do not match the checkpoint's.
    """

    ckpt = checkpoint if isinstance(checkpoint, LoadedCheckpoint) else load_checkpoint(checkpoint)
    audio = audio_or_path if isinstance(audio_or_path, Audio) else load_audio(audio_or_path)
    spec = ckpt.feature_spec
    extractor = get_extractor(spec["name"], **(spec.get("params") or {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # library version notes are for load time, not per song
        check_feature_spec(ckpt, extractor)
    features = extract(audio, extractor.name, cache=cache, **extractor.params)
    return explain_features(ckpt, features, source=audio.source, frame_seconds=extractor.frame_seconds, smooth=smooth,
                            explain=explain)


def explain_features(checkpoint: LoadedCheckpoint, features: np.ndarray, *, source: str, frame_seconds: float,
                     smooth: bool = False, explain: bool = True) -> SongExplanation:
    """Predict one song from its raw (unnormalised) features and collect the explanation maps.

    What :func:`~memo_core.explain.explain_song` does after extraction, for
    features extracted once and shared by several checkpoints.

    Args:
        checkpoint: a loaded checkpoint whose feature spec matches the features.
        features: the song's features. [shape=(n_frames, n_features)]
        source: the audio's name.
        frame_seconds: seconds per feature frame.
        smooth: apply the 25-frame triangle filter to per-frame predictions.
        explain: collect the explanation maps; ``False`` leaves them out (the
            result's ``explanations`` is empty) and skips the extra passes of
            models whose ``forward`` takes ``explain`` (the tagger's windows and
            occlusion), e.g. for late-fusion members whose maps are dropped.

    Raises:
        MemoError: features of the wrong width, or a model that does not predict per frame.
    """
    x = checkpoint.normalizer.apply(features)
    model = checkpoint.model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    skip = {} if explain or "explain" not in inspect.signature(model.forward).parameters else {"explain": False}
    with torch.inference_mode():
        out = model(torch.from_numpy(x)[None].to(device), torch.tensor([len(x)], device=device), **skip)
    n = len(x)
    maps = _maps(model, out, n_frames=n, targets=checkpoint.targets, frame_seconds=frame_seconds,
                 feature_params=(getattr(checkpoint, "feature_spec", None) or {}).get("params") or {}) if explain else {}
    if explain:  # how far the song is from the training songs' features, per 500 ms frame (the pages' trust cue)
        maps[DISTANCE_MAP] = distance_map(features, checkpoint.normalizer, frame_seconds=frame_seconds)
    name = str(checkpoint.info.get("model_name", ""))
    if getattr(model, "task", "regression") == "tagging":
        logits = out.prediction[0].float().cpu().numpy().astype(np.float64)
        thresholds = getattr(model, "thresholds", None)
        thresholds = (thresholds.float().cpu().numpy().astype(np.float64) if thresholds is not None
                      else np.full(len(logits), 0.5))
        frame = pd.DataFrame({"tag": list(checkpoint.targets), "score": 1.0 / (1.0 + np.exp(-logits)),
                              "threshold": thresholds})
        frame["predicted"] = frame["score"] >= frame["threshold"]
        return SongExplanation(source, frame, maps, tuple(checkpoint.targets), False, name, "tagging")
    pred = out.prediction[0].float().cpu().numpy()
    if pred.ndim != 2 or pred.shape[0] != n:
        raise MemoError(f"{name} returned predictions of shape {tuple(pred.shape)}, expected ({n}, n_targets): "
                        "not a per-frame model")
    if smooth:
        pred = triangle_smooth(pred)
    frame = pd.DataFrame({"time_s": np.arange(n, dtype=np.float64) * frame_seconds})
    for j, target in enumerate(checkpoint.targets):
        frame[target] = pred[:, j].astype(np.float64)
    return SongExplanation(source, frame, maps, tuple(checkpoint.targets), bool(smooth), name)


def _maps(model, out, *, n_frames: int, targets: tuple[str, ...], frame_seconds: float,
          feature_params: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The output's maps for item 0 as arrays with named axes (the model's own names first).

    ``feature_params`` are the checkpoint's own feature parameters (its feature spec); a model's
    ``explanation_axes`` hook that takes ``feature_params`` gets them, so axes that depend on the
    input's geometry (DAMFF's mel-band frequencies follow the log-mel's sample rate) are the
    checkpoint's, not a display default.
    """
    maps = {}
    own = getattr(model, "explanation_axes", None)
    extra = ({"feature_params": dict(feature_params or {})}
             if own is not None and "feature_params" in inspect.signature(own).parameters else {})
    for name, tensor in out.explanations.items():
        values = tensor[0].float().cpu().numpy() if tensor.ndim >= 1 else tensor.float().cpu().numpy()
        axes = own(name, values.shape, n_frames=n_frames, frame_seconds=frame_seconds, **extra) if own else None
        if axes is None:
            axes = explanation_axes(name, values.shape, n_frames=n_frames, targets=targets, frame_seconds=frame_seconds)
        maps[name] = {"values": values, "axes": axes}
    return maps


def fuse_tag_explanations(songs: list[SongExplanation]) -> SongExplanation:
    """Late fusion (Rajamani et al. 2020, Section 3.3): the mean of several taggers' scores for one song.

    The fused decision threshold per tag is the mean of the models' thresholds
    (each chosen on validation data). Maps are not fused.

    Raises:
        MemoError: fewer than two songs, a per-frame model, or different tag lists.
    """
    if len(songs) < 2:
        raise MemoError("late fusion needs at least two tagger checkpoints")
    if any(s.task != "tagging" for s in songs):
        raise MemoError("late fusion averages tag scores: every checkpoint must be a tagger")
    tags = songs[0].targets
    if any(s.targets != tags for s in songs):
        raise MemoError("late fusion needs checkpoints trained on the same tag list, in the same order")
    frame = pd.DataFrame({
        "tag": list(tags),
        "score": np.mean([s.predictions["score"].to_numpy() for s in songs], axis=0),
        "threshold": np.mean([s.predictions["threshold"].to_numpy() for s in songs], axis=0),
    })
    frame["predicted"] = frame["score"] >= frame["threshold"]
    name = "late fusion of " + ", ".join(s.model_name for s in songs)
    return SongExplanation(songs[0].source, frame, {}, tags, False, name, "tagging")


#: The per-frame CSV's last column: each frame's end, where ``time_s`` is its start.
FRAME_END_COLUMN = "frame_end_s"


def write_predictions_csv(explanation: SongExplanation, path: str | os.PathLike) -> Path:
    """Write the predictions one row a frame, or a tagger's one row a tag (atomically).

    Per-frame models: ``time_s,<targets>,frame_end_s``. ``time_s`` is the
    frame's START (the name stays for the readers that use it) and
    ``frame_end_s`` its end, the time the datasets' annotations give the same
    frame (an annotation at ``t`` describes the frame ending at ``t``), so the
    file says which is which. Taggers: ``tag,score,threshold,predicted``.
    """
    frame = explanation.predictions
    if explanation.task != "tagging" and "time_s" in frame.columns:
        start = frame["time_s"].to_numpy(dtype=np.float64)
        step = float(np.median(np.diff(start))) if len(start) > 1 else FRAME_SECONDS
        frame = frame.assign(**{FRAME_END_COLUMN: start + step})
    return atomic_write(Path(path), lambda h: frame.to_csv(h, index=False, float_format="%.6g"))


def _key(name: str) -> str:
    return name.replace("/", "_")


def write_explanations_npz(explanation: SongExplanation, path: str | os.PathLike) -> Path:
    """Write the maps and their axes (layout in the module docstring) as a compressed ``.npz``."""
    if explanation.task == "tagging":
        head = {"tag_scores": explanation.predictions["score"].to_numpy(),
                "tag_thresholds": explanation.predictions["threshold"].to_numpy()}
    else:
        head = {"time_s": explanation.predictions["time_s"].to_numpy(),
                "prediction": explanation.predictions[list(explanation.targets)].to_numpy()}
    arrays: dict[str, np.ndarray] = {
        **head,
        "targets": np.asarray(explanation.targets, dtype=str),
        "map_names": np.asarray(list(explanation.explanations), dtype=str),
        "map_keys": np.asarray([_key(n) for n in explanation.explanations], dtype=str),
    }
    for name, entry in explanation.explanations.items():
        key = _key(name)
        arrays[key] = np.asarray(entry["values"])
        arrays[f"{key}__axes"] = np.asarray(list(entry["axes"]), dtype=str)
        for axis, values in entry["axes"].items():
            arrays[f"{key}__{axis}"] = np.asarray(values)

    return atomic_write(Path(path), lambda h: np.savez_compressed(h, **arrays), binary=True)


def read_explanations_npz(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The maps of a file :func:`write_explanations_npz` wrote: ``{name: {"values", "axes"}}``."""
    with np.load(path, allow_pickle=False) as data:
        out = {}
        for name, key in zip(data["map_names"].tolist(), data["map_keys"].tolist()):
            axes = {axis: data[f"{key}__{axis}"] for axis in data[f"{key}__axes"].tolist()}
            out[name] = {"values": data[key], "axes": axes}
        return out
