"""Do the explanation maps matter? Deletion tests for every map the dashboard shows.

An attention map says where a model looks; it does not prove that what it
looks at drives the prediction. The test here is the plainest one: take away
what the map points at, take away as much chosen at random, and compare how far
the prediction moves. A map that shows what drives the prediction moves it more
than random deletions do; one that does not is "no better than random".

:func:`faithfulness` runs the tests on one song's RAW feature frames (normalised
with the checkpoint's normaliser, as :func:`memo_core.explain.explain_features`
does) and dispatches on the maps the model's output has, never on its name:

===========================  ==================================================================
map                          test
===========================  ==================================================================
``temporal_attention``       frames ranked by the attention they receive (the column means of
                             the map over the frames that attend at all,
                             :func:`memo_core.explain.attention.attention_received`); the ``k`` most
                             attended frames, and separately ``k`` random frames (``n_random``
                             seeded draws), have their feature rows replaced by the song's mean
                             frame
``layer_attention``          the same on the map averaged over ALL layers and heads
``window_attention/L``       the same on the A-LSTM's windows laid out on the song (frame ``k``
                             receives ``sum_t alpha_t[k]`` over the windows that hold it)
``spatial_attention``        the ``k`` highest cells of all steps' maps against ``k`` random
                             cells; a cell (step s, row r, column c) stands for the log-mel
                             block of mel bands ``r p_f .. (r+1) p_f - 1`` and spectrogram frames
                             ``c p_t .. (c+1) p_t - 1`` of step s (``p_f = n_mels // rows``,
                             ``p_t = frames_per_step // columns``: the CNN's pooling; the last
                             ``frames_per_step - columns p_t`` frames of a step, which no column
                             covers, are never occluded); those cells are replaced by the song's
                             mean log-mel of each band
``scale_weights``            each scale dropped in turn: its weight beta zeroed and the remaining
                             weights renormalised to sum to 1 (a forward hook on the model's
                             ``scale_softmax`` submodule, Eq. 16 of Ma et al.; for uniform MCA
                             the others get ``1/(N-1)``), beside the scale's mean learned weight
``scale_shares``             each scale dropped in turn: its predictions replaced by their mean
                             over the song before the fusion (the model's ``_scale_output`` is
                             wrapped, so the ELM or AVG fusion runs as in the model), beside its
                             Shapley share (mean ``|share|``, as a fraction of all scales')
===========================  ==================================================================

``channel_attention`` and ``fusion_gate`` (DAMFF) are not input maps (channels
of the CNN; the mix of two branches) and taggers' maps are not per frame: they
are not tested. How far the prediction moves: the mean absolute change of the
per-frame predictions over all frames and targets (``*_shift``), and the
absolute change of the song mean, averaged over targets (``*_mean_shift``).

A deletion test (``kind == "deletion"``) reports ``attended_shift``,
``random_shift`` and ``random_shift_std`` (mean and standard deviation over the
``n_random`` draws), ``ratio = attended_shift / random_shift`` and
``better_than_random``: the attended shift exceeds the random mean by more than
the random spread (one standard deviation). Its ``sentence`` reads
"deleting the 10 most attended frames moves the prediction 2.8x as much as 10
random frames", or "... no more than 10 random frames (0.9x): this map is no
better than random at showing what drives the prediction" (or "... 1.2x as much
as 10 random frames, within the spread of the random draws: this map is no
better than random ..." when the ratio is above 1 by less than the spread).

A scale test (``kind == "scales"``) reports per scale its ``weight`` and the
``shift`` when it is dropped, whether the highest-weighted scale is the one
that moves the prediction most (``agrees``), and ``ratio``: the shift of the
highest-weighted scale over the mean shift of the others (``None`` when the
weights are uniform and rank no scale).

:func:`summarise` pools songs: per map the mean ratio with a 90 % bootstrap
interval over songs; a deletion map is better than random when the interval's
lower end is above 1. Everything is plain JSON-able data (floats, ints,
strings, bools, lists, dicts; ``None`` where a ratio is undefined), so a
summary can live in the checkpoints' manifest (key ``"faithfulness"``).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from memo_core.audio import FRAME_SECONDS, Audio
from memo_core.errors import MemoError
from memo_core.explain.attention import attention_received
from memo_core.explain.multiscale import scale_label
from memo_core.features import extract, get_extractor
from memo_core.metrics import bootstrap
from memo_core.training.checkpoints import LoadedCheckpoint

__all__ = [
    "MAP_ORDER",
    "NO_BETTER",
    "faithfulness",
    "song_faithfulness",
    "summarise",
    "map_notes",
    "scale_table",
    "window_received",
    "cell_block",
]

#: The maps tested, in the order a result lists them; the first present is the result's ``main`` map.
MAP_ORDER = ("temporal_attention", "layer_attention", "scale_weights", "scale_shares", "spatial_attention",
             "window_attention")
#: At most this many input values (copies x frames x features) go through the model in one batch.
INPUT_BUDGET = 2 ** 21
#: How a sentence ends when a map does not beat random deletions.
NO_BETTER = "this map is no better than random at showing what drives the prediction"
#: Bootstrap resamples of :func:`summarise`, and its interval.
N_BOOTSTRAP = 2000
INTERVAL = 0.90


# --------------------------------------------------------------------------- running the model


def _device(model: torch.nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _run(model: torch.nn.Module, batch: np.ndarray):
    """The model's output on a batch of whole songs of equal length. [shape=(b, n_frames, n_features)]"""
    device = _device(model)
    x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
    lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long, device=device)
    with torch.inference_mode():
        return model(x, lengths)


def _predict(model: torch.nn.Module, variants: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-frame predictions of each normalised song variant, batched within :data:`INPUT_BUDGET`."""
    if not variants:
        return []
    per_batch = max(1, INPUT_BUDGET // max(1, variants[0].size))
    out: list[np.ndarray] = []
    for start in range(0, len(variants), per_batch):
        prediction = _run(model, np.stack(variants[start:start + per_batch])).prediction
        out += list(prediction.float().cpu().numpy().astype(np.float64))
    return out


def _shifts(base: np.ndarray, new: np.ndarray) -> tuple[float, float]:
    """(mean |change| over frames and targets, mean over targets of |change of the song mean|)."""
    return float(np.mean(np.abs(new - base))), float(np.mean(np.abs(new.mean(axis=0) - base.mean(axis=0))))


def _times(ratio: float | None) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "infinitely"
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"


# --------------------------------------------------------------------------- deletion tests


def _deletion_sentence(subject: str, baseline: str, ratio: float | None, better: bool, attended: float) -> str:
    if better and ratio is None:
        return f"deleting {subject} moves the prediction, while {baseline} do not move it at all"
    if better:
        return f"deleting {subject} moves the prediction {_times(ratio)} as much as {baseline}"
    if ratio is not None and ratio > 1:
        return (f"deleting {subject} moves the prediction {_times(ratio)} as much as {baseline}, within the spread "
                f"of the random draws: {NO_BETTER}")
    how = " (neither moves it at all)" if attended == 0 else f" ({_times(ratio)})" if ratio is not None else ""
    return f"deleting {subject} moves the prediction no more than {baseline}{how}: {NO_BETTER}"


def _deletion(model: torch.nn.Module, raw: np.ndarray, normalise: Callable[[np.ndarray], np.ndarray],
              base: np.ndarray, scores: np.ndarray, delete: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
              name: str, method: str, unit: str, subject: str, k: int, n_random: int,
              rng: np.random.Generator) -> dict[str, Any] | None:
    """Delete the ``k`` highest-scoring units and ``k`` random ones (``n_random`` times); compare the shifts.

    Args:
        raw: the song's raw features. [shape=(n_frames, n_features)]
        base: the unperturbed prediction. [shape=(n_frames, n_targets)]
        scores: one score a unit (frame or cell), flattened. [shape=(n_units,)]
        delete: ``delete(raw, units)`` -> a raw copy with those units replaced.
        subject: ``"most attended frames"``: what the top-k are, after "the k".
    """
    n_units = int(scores.size)
    if n_units < 2:
        return None
    k = max(1, min(int(k), n_units // 2))
    top = np.sort(np.argsort(-scores, kind="stable")[:k])
    draws = [np.sort(rng.choice(n_units, size=k, replace=False)) for _ in range(max(1, int(n_random)))]
    predictions = _predict(model, [normalise(delete(raw, units)) for units in [top, *draws]])
    attended, attended_mean = _shifts(base, predictions[0])
    random = np.array([_shifts(base, p) for p in predictions[1:]])
    r_mean, r_std = float(random[:, 0].mean()), float(random[:, 0].std())
    if r_mean > 0:
        ratio: float | None = attended / r_mean
    else:
        ratio = 1.0 if attended == 0 else None
    better = bool(attended > r_mean + r_std and attended > 0)
    plural = unit if k == 1 else f"{unit}s"
    subject_k = f"the {k} {subject}" if k > 1 else f"the {subject.replace(f'{unit}s', unit)}"
    baseline = f"{k} random {plural}"
    return {
        "kind": "deletion", "map": name, "method": method, "unit": unit, "k": k, "n_random": len(draws),
        "n_units": n_units, "subject": subject_k, "baseline": baseline,
        "deleted": [int(i) for i in top],
        "attended_shift": attended, "attended_mean_shift": attended_mean,
        "random_shift": r_mean, "random_shift_std": r_std,
        "random_mean_shift": float(random[:, 1].mean()), "random_mean_shift_std": float(random[:, 1].std()),
        "ratio": None if ratio is None else float(ratio), "better_than_random": better,
        "sentence": _deletion_sentence(subject_k, baseline, ratio, better, attended),
    }


def _delete_frames(raw: np.ndarray, frames: np.ndarray) -> np.ndarray:
    out = raw.copy()
    out[frames] = raw.mean(axis=0)
    return out


def window_received(values: np.ndarray) -> np.ndarray:
    """The A-LSTM's window weights laid out on the song: the attention each frame receives.

    Args:
        values: ``window_attention/L`` of one song, column ``L - 1`` the frame
            itself. [shape=(n_frames, L)]

    Returns:
        ``attention_received`` of the [query, key] map the windows make
        (row ``t`` holds ``alpha_t`` on frames ``t - L + 1 .. t``). [shape=(n_frames,)]
    """
    values = np.asarray(values, dtype=np.float64)
    n, window = values.shape
    full = np.zeros((n, n))
    for lag in range(window):  # column j of row t is frame t - (window - 1 - j)
        back = window - 1 - lag
        t = np.arange(back, n)
        full[t, t - back] = values[t, lag]
    return attention_received(full)


def cell_block(cell: tuple[int, int], map_shape: tuple[int, int], *, n_mels: int,
               frames_per_step: int) -> tuple[slice, slice]:
    """The (spectrogram frames, mel bands) of a step's log-mel block behind a spatial-attention cell.

    Args:
        cell: (row, column) of the step's map; rows are mel-band groups, low to high.
        map_shape: (rows, columns) of the map.

    Returns:
        ``(frames, bands)`` slices into the step's ``[frames_per_step, n_mels]`` block.
    """
    rows, columns = map_shape
    pool_f, pool_t = n_mels // rows, frames_per_step // columns
    if pool_f < 1 or pool_t < 1:
        raise MemoError(f"a {rows} x {columns} map cannot come from a {n_mels} x {frames_per_step} block")
    r, c = cell
    return slice(c * pool_t, (c + 1) * pool_t), slice(r * pool_f, (r + 1) * pool_f)


def _spectral_deletion(model, raw, normalise, base, values: np.ndarray, **kwargs) -> dict[str, Any] | None:
    config = getattr(model, "config", None)
    n_mels, frames_per_step = getattr(config, "n_mels", None), getattr(config, "frames_per_step", None)
    n_steps, rows, columns = values.shape
    if n_mels is None or frames_per_step is None or raw.shape[1] != n_mels * frames_per_step:
        return None  # not a log-mel block a step: nothing to map the cells back to
    blocks = raw.reshape(len(raw), frames_per_step, n_mels)
    band_mean = blocks.mean(axis=(0, 1))

    def delete(song: np.ndarray, cells: np.ndarray) -> np.ndarray:
        out = song.reshape(len(song), frames_per_step, n_mels).copy()
        for flat in cells:
            step, r, c = np.unravel_index(int(flat), (n_steps, rows, columns))
            frames, bands = cell_block((r, c), (rows, columns), n_mels=n_mels, frames_per_step=frames_per_step)
            out[step, frames, bands] = band_mean[bands]
        return out.reshape(song.shape)

    pool_f, pool_t = n_mels // rows, frames_per_step // columns
    result = _deletion(model, raw, normalise, base, values.reshape(-1), delete, unit="cell",
                       method=f"log-mel cells of {pool_f} mel bands x {pool_t} spectrogram frames (the map's "
                              f"{rows} x {columns} grid of each step) replaced by the song's mean log-mel of each band",
                       **kwargs)
    if result is not None:
        result["deleted_cells"] = [[int(v) for v in np.unravel_index(i, (n_steps, rows, columns))]
                                   for i in result["deleted"]]
    return result


# --------------------------------------------------------------------------- scale tests


@contextlib.contextmanager
def _weight_dropped(module: torch.nn.Module, scale: int) -> Iterator[None]:
    """Zero scale ``scale``'s weight in ``module``'s output and renormalise the rest to sum to 1."""

    def hook(_module, _inputs, output):
        out = output.clone()
        out[..., scale] = 0.0
        total = out.sum(dim=-1, keepdim=True)
        return torch.where(total > 0, out / total.clamp_min(1e-12), out)

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextlib.contextmanager
def _prediction_flattened(model: torch.nn.Module, scale: int) -> Iterator[None]:
    """Scale ``scale``'s own predictions replaced by their mean over each song before the fusion."""
    original = model._scale_output

    def flattened(index, x, lengths):
        out = original(index, x, lengths)
        if index != scale:
            return out
        valid = (torch.arange(out.shape[1], device=out.device)[None, :] < lengths.to(out.device)[:, None])[..., None]
        mean = (out * valid).sum(dim=1, keepdim=True) / valid.sum(dim=1, keepdim=True).clamp_min(1)
        return torch.where(valid, mean.expand_as(out), out)

    model._scale_output = flattened
    try:
        yield
    finally:
        del model._scale_output


def _scale_words(frames: int) -> str:
    """``"the 10-frame (5 s) scale"``."""
    return f"the {int(frames)}-frame ({int(frames) * FRAME_SECONDS:g} s) scale"


def _scales_of(model: torch.nn.Module, checkpoint: LoadedCheckpoint, n: int) -> list[int]:
    for found in (getattr(model, "scales", None), (checkpoint.info.get("model_config") or {}).get("scales")):
        if found is not None and len(found) == n:
            return [int(s) for s in found]
    return list(range(1, n + 1))


def _scale_test(model, x: np.ndarray, base: np.ndarray, *, name: str, method: str, weight_name: str,
                top_phrase: str, weights: np.ndarray, scales: list[int],
                intervene: Callable[[int], Any]) -> dict[str, Any]:
    rows = []
    for i, (scale, weight) in enumerate(zip(scales, weights)):
        with intervene(i):
            dropped = _predict(model, [x])[0]
        shift, mean_shift = _shifts(base, dropped)
        rows.append({"scale": scale, "label": scale_label(scale), "weight": float(weight), "shift": shift,
                     "mean_shift": mean_shift})
    shifts = np.array([r["shift"] for r in rows])
    moving = int(np.argmax(shifts))
    uniform = bool(np.ptp(weights) < 1e-6)
    top = None if uniform else int(np.argmax(weights))
    ratio = None
    if top is not None and len(rows) > 1:
        others = float(np.delete(shifts, top).mean())
        ratio = float(shifts[top] / others) if others > 0 else (1.0 if shifts[top] == 0 else None)
    agrees = None if top is None else bool(top == moving)
    m = rows[moving]
    if top is None:
        sentence = (f"the {weight_name}s are uniform ({weights[0]:.2f} each) and rank no scale; dropping "
                    f"{_scale_words(m['scale'])} moves the prediction most ({m['shift']:.3f})")
    elif agrees:
        t = rows[top]
        sentence = (f"dropping {top_phrase}, {_scale_words(t['scale'])} ({weight_name} "
                    f"{t['weight']:.2f}), moves the prediction most: {t['shift']:.3f}, {_times(ratio)} the other "
                    "scales' mean")
    else:
        t = rows[top]
        sentence = (f"{top_phrase}, {_scale_words(t['scale'])} ({weight_name} {t['weight']:.2f}), is "
                    f"not the one that moves the prediction most: dropping {_scale_words(m['scale'])} ({weight_name} "
                    f"{m['weight']:.2f}) moves it {m['shift']:.3f} against {t['shift']:.3f}, so the {weight_name}s "
                    "do not rank the scales by what drives the prediction")
    return {"kind": "scales", "map": name, "method": method, "weight_name": weight_name, "top_phrase": top_phrase,
            "scales": rows,
            "top_weighted": None if top is None else rows[top]["scale"], "most_moving": m["scale"],
            "uniform": uniform, "agrees": agrees, "ratio": ratio, "better_than_random": bool(agrees),
            "sentence": sentence}


# --------------------------------------------------------------------------- one song


def faithfulness(checkpoint: LoadedCheckpoint, features: np.ndarray, *, k: int = 10, n_random: int = 20,
                 seed: int = 0) -> dict[str, Any] | None:
    """Deletion tests of every testable map the checkpoint's model returns, on one song.

    Args:
        checkpoint: a loaded checkpoint.
        features: the song's RAW features (normalised here with the checkpoint's
            normaliser). [shape=(n_frames, n_features)]
        k: frames (or cells) deleted a test; at most half the song's.
        n_random: random draws of ``k`` frames (or cells) a test.
        seed: seed of the random draws.

    Returns:
        ``None`` when the model returns no map tested here (e.g. MLR, the plain
        LSTM, a tagger), else::

            {"model": str, "n_frames": int, "k": int, "n_random": int, "seed": int,
             "main": the first tested map in MAP_ORDER, "ratio": its ratio, "sentence": its sentence,
             "maps": {map name: test}}

        A deletion test: ``kind="deletion"``, ``map``, ``method``, ``unit``
        (``"frame"``/``"cell"``), ``k``, ``n_random``, ``n_units``, ``subject``,
        ``baseline``, ``deleted`` (the unit indices; cells also as
        ``deleted_cells`` [step, row, column]), ``attended_shift``,
        ``attended_mean_shift``, ``random_shift``, ``random_shift_std``,
        ``random_mean_shift``, ``random_mean_shift_std``, ``ratio`` (``None``:
        random deletions do not move the prediction and the attended ones do),
        ``better_than_random``, ``sentence``. A scale test: ``kind="scales"``,
        ``map``, ``method``, ``weight_name``, ``top_phrase``, ``scales`` (one
        ``{"scale", "label", "weight", "shift", "mean_shift"}`` a scale),
        ``top_weighted``, ``most_moving``, ``uniform``, ``agrees``, ``ratio``,
        ``better_than_random`` (= agrees), ``sentence``.

    Raises:
        MemoError: features of the wrong width.
    """
    raw = np.asarray(features, dtype=np.float64)
    if raw.ndim != 2 or raw.shape[0] < 1:
        raise MemoError(f"faithfulness needs one song's frames [n_frames, n_features], got shape {raw.shape}")
    normalise = lambda song: checkpoint.normalizer.apply(song.astype(np.float32))  # noqa: E731
    x = normalise(raw)
    model = checkpoint.model.eval()
    out = _run(model, x[None])
    prediction = out.prediction[0].float().cpu().numpy().astype(np.float64)
    n = len(x)
    if getattr(model, "task", "regression") == "tagging" or prediction.ndim != 2 or prediction.shape[0] != n:
        return None
    maps = {name: t[0].float().cpu().numpy().astype(np.float64) for name, t in out.explanations.items()}
    rng = np.random.default_rng(seed)
    common = {"k": k, "n_random": n_random, "rng": rng}
    tests: dict[str, dict[str, Any]] = {}

    def deletion(name: str, scores: np.ndarray, method: str, subject: str) -> None:
        found = _deletion(model, raw, normalise, prediction, scores, _delete_frames, name=name, method=method,
                          unit="frame", subject=subject, **common)
        if found is not None:
            tests[name] = found

    if maps.get("temporal_attention", np.zeros(0)).ndim == 2:
        deletion("temporal_attention", attention_received(maps["temporal_attention"]),
                 "frames ranked by the attention they receive (column means of the map over the frames that "
                 "attend), their feature rows replaced by the song's mean frame", "most attended frames")
    if maps.get("layer_attention", np.zeros(0)).ndim == 4:
        n_layers, n_heads = maps["layer_attention"].shape[:2]
        deletion("layer_attention", attention_received(maps["layer_attention"].mean(axis=(0, 1))),
                 f"the map averaged over all {n_layers} layer(s) and {n_heads} head(s); frames ranked by the "
                 "attention they receive, their feature rows replaced by the song's mean frame",
                 "most attended frames (mean over layers and heads)")
    # The scale tests hook or wrap the model: they work on a private copy, so that a model shared with other
    # threads (the dashboard's sessions) never predicts with a scale dropped.
    twin = copy.deepcopy(model) if any(name in maps for name in ("scale_weights", "scale_shares")) else model
    if maps.get("scale_weights", np.zeros(0)).ndim == 2 and isinstance(getattr(twin, "scale_softmax", None),
                                                                       torch.nn.Module):
        beta = maps["scale_weights"]
        inside = beta[beta.sum(axis=1) > 0]
        weights = inside.mean(axis=0) if len(inside) else np.zeros(beta.shape[1])
        tests["scale_weights"] = _scale_test(
            twin, x, prediction, name="scale_weights", weight_name="mean weight", weights=weights,
            top_phrase="the highest-weighted scale",
            scales=_scales_of(model, checkpoint, beta.shape[1]),
            method="each scale's weight beta set to 0 in the fusion and the other weights renormalised to sum to 1",
            intervene=lambda i: _weight_dropped(twin.scale_softmax, i))
    if maps.get("scale_shares", np.zeros(0)).ndim == 3 and callable(getattr(twin, "_scale_output", None)):
        shares = np.abs(maps["scale_shares"]).mean(axis=(0, 2))
        fractions = shares / shares.sum() if shares.sum() > 0 else np.full(len(shares), 1.0 / len(shares))
        tests["scale_shares"] = _scale_test(
            twin, x, prediction, name="scale_shares", weight_name="Shapley share", weights=fractions,
            top_phrase="the scale with the largest Shapley share",
            scales=_scales_of(model, checkpoint, len(shares)),
            method="each scale's predictions replaced by their mean over the song before the fusion; share = "
                   "the scale's mean |Shapley share| as a fraction of all scales'",
            intervene=lambda i: _prediction_flattened(twin, i))
    if maps.get("spatial_attention", np.zeros(0)).ndim == 3:
        found = _spectral_deletion(model, raw, normalise, prediction, maps["spatial_attention"],
                                   name="spatial_attention", subject="most attended log-mel cells", **common)
        if found is not None:
            tests["spatial_attention"] = found
    for name in sorted((m for m in maps if m.startswith("window_attention/")),
                       key=lambda m: int(m.split("/")[1]) if m.split("/")[1].isdigit() else 0):
        if maps[name].ndim == 2:
            window = maps[name].shape[1]
            deletion(name, window_received(maps[name]),
                     f"the A-LSTM's {window}-frame windows laid on the song (frame k receives the weights of every "
                     "window that holds it); frames ranked by the attention they receive, their feature rows "
                     "replaced by the song's mean frame", f"frames the {window}-frame windows attend to most")
    if not tests:
        return None
    main = next(name for base in MAP_ORDER for name in tests if name.split("/")[0] == base)
    return {"model": str(checkpoint.info.get("model_name", "")), "n_frames": n, "k": int(k),
            "n_random": int(n_random), "seed": int(seed), "main": main, "ratio": tests[main]["ratio"],
            "sentence": tests[main]["sentence"], "maps": tests}


def song_faithfulness(checkpoint: LoadedCheckpoint, audio: Audio, *, cache: bool = True, k: int = 10,
                      n_random: int = 20, seed: int = 0) -> dict[str, Any] | None:
    """:func:`faithfulness` of a song's audio: its features extracted as the checkpoint's (feature cache used
    when ``cache``), torch on one thread (small models, one song: see :mod:`memo_core.explain.analysis`).

    Raises:
        MemoError: features that do not match the checkpoint, or unusable audio.
    """

    spec = checkpoint.feature_spec
    extractor = get_extractor(spec["name"], **(spec.get("params") or {}))
    features = extract(audio, extractor.name, cache=cache, **extractor.params)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return faithfulness(checkpoint, features, k=k, n_random=n_random, seed=seed)
    finally:
        torch.set_num_threads(previous)


# --------------------------------------------------------------------------- over songs


def _interval(values: np.ndarray, seed: int) -> tuple[float, float]:
    """The 90 % bootstrap interval over songs of the mean of ``values`` (one song: the value itself)."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    found = bootstrap(len(values), lambda idx: float(values[idx].mean()), n_boot=N_BOOTSTRAP, seed=seed,
                      level=INTERVAL)
    return found["lo"], found["hi"]


def _summarise_map(tests: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    first = tests[0]
    ratios = np.array([t["ratio"] for t in tests if t.get("ratio") is not None], dtype=np.float64)
    ratios = ratios[np.isfinite(ratios)]
    n = len(tests)
    clips = f"over {n} clip{'s' if n != 1 else ''}"
    out: dict[str, Any] = {"kind": first["kind"], "map": first["map"], "method": first.get("method", ""),
                           "n_songs": n, "n_ratios": int(len(ratios)),
                           "ratio": float(ratios.mean()) if len(ratios) else None,
                           "ratio_low": None, "ratio_high": None}
    if len(ratios):
        out["ratio_low"], out["ratio_high"] = _interval(ratios, seed)
    interval = (f", 90 % interval {_times(out['ratio_low'])} to {_times(out['ratio_high'])}"
                if out["ratio"] is not None else "")
    if first["kind"] == "deletion":
        better = out["ratio_low"] is not None and out["ratio_low"] > 1.0
        for key in ("k", "subject", "baseline", "unit"):
            out[key] = first.get(key)
        out["attended_shift"] = float(np.mean([t["attended_shift"] for t in tests]))
        out["random_shift"] = float(np.mean([t["random_shift"] for t in tests]))
        out["better_share"] = float(np.mean([bool(t.get("better_than_random")) for t in tests]))
        if better:
            sentence = (f"{clips}, deleting {first['subject']} moves the prediction {_times(out['ratio'])} as much "
                        f"as {first['baseline']} on average{interval}")
        elif out["ratio"] is not None and out["ratio"] > 1:
            sentence = (f"{clips}, deleting {first['subject']} moves the prediction {_times(out['ratio'])} as much "
                        f"as {first['baseline']} on average, but the 90 % interval ({_times(out['ratio_low'])} to "
                        f"{_times(out['ratio_high'])}) reaches 1x: {NO_BETTER}")
        else:
            average = f" ({_times(out['ratio'])} on average{interval})" if out["ratio"] is not None else ""
            sentence = (f"{clips}, deleting {first['subject']} moves the prediction no more than "
                        f"{first['baseline']}{average}: {NO_BETTER}")
    else:
        agreeing = [t["agrees"] for t in tests if t.get("agrees") is not None]
        better = bool(agreeing) and out["ratio_low"] is not None and out["ratio_low"] > 1.0
        out["weight_name"] = first.get("weight_name", "weight")
        out["top_phrase"] = first.get("top_phrase", "the highest-weighted scale")
        out["n_agree"], out["n_ranked"] = int(sum(agreeing)), len(agreeing)
        by_scale: dict[int, list[dict[str, Any]]] = {}
        for t in tests:
            for row in t["scales"]:
                by_scale.setdefault(row["scale"], []).append(row)
        out["scales"] = [{"scale": s, "label": rows[0]["label"],
                          "weight": float(np.mean([r["weight"] for r in rows])),
                          "shift": float(np.mean([r["shift"] for r in rows])),
                          "mean_shift": float(np.mean([r["mean_shift"] for r in rows]))}
                         for s, rows in by_scale.items()]
        moving = max(out["scales"], key=lambda r: r["shift"])
        if not agreeing:
            sentence = (f"{clips}, the {out['weight_name']}s are uniform and rank no scale; dropping "
                        f"{_scale_words(moving['scale'])} moves the prediction most ({moving['shift']:.3f} on average)")
        else:
            verdict = ("" if better else f": the {out['weight_name']}s do not reliably point at the scale that "
                                         "drives the prediction")
            sentence = (f"{clips}, dropping {out['top_phrase']} moved the prediction most on "
                        f"{out['n_agree']} of {len(agreeing)} clips, and moves it {_times(out['ratio'])} as much as "
                        f"dropping another scale on average{interval}{verdict}")
    out["better_than_random"] = bool(better)
    out["sentence"] = sentence
    return out


def summarise(results: list[dict[str, Any] | None], *, seed: int = 0) -> dict[str, Any]:
    """Pool :func:`faithfulness` results of several songs (``None`` entries are skipped).

    Returns:
        ``{"n_songs": int, "main": str | None, "map", "ratio", "ratio_low", "ratio_high",
        "better_than_random", "sentence"`` (those of the main map, or None/"" when
        there is no result) ``, "maps": {map name: summary}}``. A map's summary:
        ``kind``, ``map``, ``method``, ``n_songs``, ``n_ratios`` (songs with a
        finite ratio), ``ratio`` (mean over songs), ``ratio_low``/``ratio_high``
        (90 % bootstrap interval of that mean over songs, :data:`N_BOOTSTRAP`
        resamples, seeded), ``better_than_random`` (deletion: the interval's
        lower end is above 1; scales: the same for the highest-weighted scale's
        ratio), ``sentence``; deletion maps add ``k``, ``subject``,
        ``baseline``, ``unit``, mean ``attended_shift`` and ``random_shift``,
        ``better_share`` (share of songs better than random); scale maps add
        ``weight_name``, ``top_phrase``, ``n_agree`` of ``n_ranked`` songs where the
        highest-weighted scale moved the prediction most, and ``scales`` (per
        scale the mean ``weight``, ``shift`` and ``mean_shift``).
    """
    found = [r for r in results if r]
    by_map: dict[str, list[dict[str, Any]]] = {}
    for result in found:
        for name, test in (result.get("maps") or {}).items():
            by_map.setdefault(name, []).append(test)
    maps = {name: _summarise_map(tests, seed) for name, tests in by_map.items()}
    main = next((name for base in MAP_ORDER for name in maps if name.split("/")[0] == base), None)
    head = maps.get(main, {})
    return {"n_songs": len(found), "main": main, "map": main, "ratio": head.get("ratio"),
            "ratio_low": head.get("ratio_low"), "ratio_high": head.get("ratio_high"),
            "better_than_random": bool(head.get("better_than_random", False)), "sentence": head.get("sentence", ""),
            "maps": maps}


# --------------------------------------------------------------------------- for display


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def map_notes(song: Mapping[str, Any] | None, validation: Mapping[str, Any] | None,
              name: str) -> list[tuple[str, str]]:
    """What a page says next to map ``name``: ``[(level, text)]``, level ``"ok"``, ``"warning"`` or ``"info"``.

    Args:
        song: :func:`faithfulness` of the current song (or ``{"error": reason}``, or None).
        validation: a :func:`summarise` dict computed on real validation clips (the
            manifest's ``"faithfulness"``), or None; anything else is ignored.
        name: the map's name (``"temporal_attention"``, ``"window_attention/5"``, ...).
    """
    notes: list[tuple[str, str]] = []
    if isinstance(song, Mapping) and song.get("error"):
        notes.append(("info", f"The deletion test of this map could not run on this song: {song['error']}"))
    elif isinstance(song, Mapping):
        test = (song.get("maps") or {}).get(name)
        if isinstance(test, Mapping) and test.get("sentence"):
            level = "ok" if test.get("better_than_random") else "info" if test.get("uniform") else "warning"
            notes.append((level, f"**Does this map matter? On this song:** {test['sentence']}."))
    maps = validation.get("maps") if isinstance(validation, Mapping) else None
    test = maps.get(name) if isinstance(maps, Mapping) else None
    if isinstance(test, Mapping) and isinstance(test.get("sentence"), str) and test["sentence"]:
        level = "ok" if test.get("better_than_random") else "warning"
        notes.append((level, f"**On the real validation clips:** {_capital(test['sentence'])}."))
    return notes


def scale_table(test: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of a scale test for a table: scale, its weight (named by ``weight_name``), the shift when dropped."""
    weight = str(test.get("weight_name", "weight"))
    return [{"scale": row["label"], weight: round(float(row["weight"]), 3),
             "prediction shift when dropped": round(float(row["shift"]), 4)} for row in test.get("scales", [])]
