"""A/B: two curves (two checkpoints on one song, or one checkpoint on two songs) on one grid, and their difference.

The dashboard's A/B page draws what these return:

* :func:`align_curves`: both curves resampled (linear interpolation) onto one grid, on time in seconds over
  the span both cover, or on the position in the song (0 to 100 %) for two songs of different lengths;
  ``A - B`` per target;
* :func:`difference_summary`: per target, the mean difference, the mean and largest absolute difference
  (and where), and how alike the two curves move (Pearson r);
* :func:`shared_maps`: the explanation maps both results have under the same name;
* :func:`map_difference`: one such map of each, reduced to two axes and resampled onto a common grid, and
  ``A - B``.

>>> aligned = align_curves(result_a.predictions, result_b.predictions)      # doctest: +SKIP
>>> aligned["diff/arousal"]                                                # A - B  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from memo_core.audio import FRAME_SECONDS
from memo_core.errors import MemoError

__all__ = ["align_curves", "difference_summary", "shared_maps", "default_pair", "MapDifference", "map_difference", "reduce_map"]

TARGETS = ("valence", "arousal")


def _curve(frame: pd.DataFrame | Mapping[str, Any], target: str) -> tuple[np.ndarray, np.ndarray] | None:
    values = frame.get(target) if hasattr(frame, "get") else None
    if values is None:
        return None
    t = np.asarray(frame["time_s"], float)
    y = np.asarray(values, float)
    keep = np.isfinite(t) & np.isfinite(y)
    if keep.sum() < 1:
        return None
    order = np.argsort(t[keep])
    return t[keep][order], y[keep][order]


def align_curves(a: pd.DataFrame | Mapping[str, Any], b: pd.DataFrame | Mapping[str, Any], *,
                 targets: Sequence[str] = TARGETS, relative: bool = False, duration_a: float | None = None,
                 duration_b: float | None = None, step_s: float = FRAME_SECONDS, n_points: int = 101) -> pd.DataFrame:
    """Two curves on one grid, and their difference ``A - B``.

    Args:
        a, b: tables (or dicts of arrays) with ``time_s`` and one column per target.
        targets: the columns to align (those both have).
        relative: align by position in the song (``position``, 0 to 100 %, ``n_points`` points) instead of time;
            each song's length is ``duration_a`` / ``duration_b`` (default: its last time plus one frame).
        step_s: the time grid's step (default the 500 ms frame).

    Returns:
        ``time_s`` (or ``position``), then ``a/<target>``, ``b/<target>``, ``diff/<target>`` per target both
        curves have; times outside the span both cover are left out.

    Raises:
        MemoError: the curves share no target, or (on time) do not overlap.
    """
    shared = [t for t in targets if _curve(a, t) is not None and _curve(b, t) is not None]
    if not shared:
        raise MemoError("the two curves share no valence or arousal column to compare")
    out: dict[str, np.ndarray] = {}
    if relative:
        grid = np.linspace(0.0, 100.0, int(n_points))
        out["position"] = grid
    else:
        starts, ends = [], []
        for frame in (a, b):
            t = np.asarray(frame["time_s"], float)
            starts.append(np.nanmin(t))
            ends.append(np.nanmax(t))
        lo, hi = max(starts), min(ends)
        if hi < lo:
            raise MemoError(f"the two curves do not overlap in time (A ends at {ends[0]:.1f} s, B starts at "
                            f"{starts[1]:.1f} s)")
        grid = lo + np.arange(int(np.floor((hi - lo) / step_s + 1e-9)) + 1) * step_s
        out["time_s"] = grid
    for target in shared:
        values = []
        for frame, duration in ((a, duration_a), (b, duration_b)):
            t, y = _curve(frame, target)
            if relative:
                length = float(duration) if duration else float(np.nanmax(np.asarray(frame["time_s"], float))
                                                                + step_s)
                t = 100.0 * t / max(length, 1e-9)
            values.append(np.interp(grid, t, y))
        out[f"a/{target}"], out[f"b/{target}"] = values
        out[f"diff/{target}"] = values[0] - values[1]
    return pd.DataFrame(out)


def difference_summary(aligned: pd.DataFrame) -> pd.DataFrame:
    """Per target of :func:`align_curves`' table: ``target, mean A - B, mean |A - B|, largest |A - B|, at,
    r (A, B)`` (``at``: the time in s or the position in % of the largest difference; r is NaN where a curve
    is constant)."""
    axis = "time_s" if "time_s" in aligned else "position"
    rows = []
    for column in aligned.columns:
        if not column.startswith("diff/"):
            continue
        target = column.split("/", 1)[1]
        diff = aligned[column].to_numpy(float)
        a, b = aligned[f"a/{target}"].to_numpy(float), aligned[f"b/{target}"].to_numpy(float)
        i = int(np.argmax(np.abs(diff))) if diff.size else 0
        r = float(np.corrcoef(a, b)[0, 1]) if diff.size > 1 and a.std() > 1e-9 and b.std() > 1e-9 else float("nan")
        rows.append({"target": target, "mean A - B": float(diff.mean()) if diff.size else float("nan"),
                     "mean |A - B|": float(np.abs(diff).mean()) if diff.size else float("nan"),
                     "largest |A - B|": float(abs(diff[i])) if diff.size else float("nan"),
                     "at": float(aligned[axis].iloc[i]) if diff.size else float("nan"), "r (A, B)": r})
    return pd.DataFrame(rows, columns=["target", "mean A - B", "mean |A - B|", "largest |A - B|", "at", "r (A, B)"])


def _maps(result: Any) -> dict[str, Mapping[str, Any]]:
    found = getattr(result, "explanations", None) or {}
    return {k: v for k, v in found.items() if isinstance(v, Mapping) and "values" in v
            and np.asarray(v["values"]).ndim >= 1}


def shared_maps(result_a: Any, result_b: Any) -> list[str]:
    """Names of the explanation maps both results have with the same axis names: maps of two or more axes
    first (attention, scale weights), then one-axis ones (a per-frame curve), each in A's order."""
    a, b = _maps(result_a), _maps(result_b)
    found = [name for name in a if name in b and list(a[name].get("axes", {})) == list(b[name].get("axes", {}))]
    return sorted(found, key=lambda name: np.asarray(a[name]["values"]).ndim < 2)


def default_pair(results: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first two results (in order) that share a map of two or more axes (two attention models, two MCAs):
    the pair whose maps the A/B page can compare; else the first two; None with fewer than two."""
    keys = list(results)
    if len(keys) < 2:
        return None
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            shared = shared_maps(results[a], results[b])
            if shared and np.asarray(_maps(results[a])[shared[0]]["values"]).ndim >= 2:
                return a, b
    return keys[0], keys[1]


def reduce_map(found: Mapping[str, Any]) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    """A map reduced to at most two axes: the axes measured in seconds first (``*_s``), then the others in order,
    averaging over the axes beyond two (a Transformer's layers and heads, DAMFF's steps in a frame).

    Returns:
        ``(values, axis names, axis coordinates)``; values with shape (first axis, second axis) or (first axis,).
    """
    values = np.asarray(found["values"], float)
    axes = dict(found.get("axes", {}))
    names = list(axes) if len(axes) == values.ndim else [f"axis {i}" for i in range(values.ndim)]
    coords = [np.asarray(axes[n], float) if n in axes and np.asarray(axes[n]).shape == (values.shape[i],)
              and np.issubdtype(np.asarray(axes[n]).dtype, np.number) else np.arange(values.shape[i], dtype=float)
              for i, n in enumerate(names)]
    order = sorted(range(values.ndim), key=lambda i: (not names[i].endswith("_s"), i))
    keep = sorted(order[:2])
    drop = tuple(i for i in range(values.ndim) if i not in keep)
    if drop:
        values = values.mean(axis=drop)
    return values, [names[i] for i in keep], [coords[i] for i in keep]


def _resample(values: np.ndarray, source: Sequence[np.ndarray], target: Sequence[np.ndarray]) -> np.ndarray:
    """Linear interpolation along each axis in turn, from ``source`` coordinates onto ``target`` ones."""
    out = values
    for axis, (src, dst) in enumerate(zip(source, target)):
        if src.shape == dst.shape and np.allclose(src, dst):
            continue
        order = np.argsort(src)
        out = np.apply_along_axis(lambda v, s=src[order], d=dst, o=order: np.interp(d, s, v[o]), axis, out)
    return out


@dataclass(frozen=True)
class MapDifference:
    """Two maps of the same name on one grid.

    Attributes:
        name: the map's name.
        axis_names: the two (or one) axes kept, in order.
        axes: each axis' coordinates on the common grid.
        a, b: the two maps on that grid. [shape=(len(axes[0]), len(axes[1]))]
        diff: ``a - b``.
    """

    name: str
    axis_names: tuple[str, ...]
    axes: tuple[np.ndarray, ...]
    a: np.ndarray
    b: np.ndarray
    diff: np.ndarray


def map_difference(result_a: Any, result_b: Any, name: str) -> MapDifference:
    """Map ``name`` of both results (:func:`reduce_map`), on a common grid, and ``A - B``.

    The grid is A's where both cover the same span (two checkpoints on one song); otherwise, along each axis,
    the coarser of the two grids within the span both cover (two songs of different lengths).

    Raises:
        MemoError: one of the results lacks the map, or the two cannot be put on one grid.
    """
    maps_a, maps_b = _maps(result_a), _maps(result_b)
    if name not in maps_a or name not in maps_b:
        raise MemoError(f"both results need the map {name!r} to compare it")
    va, names_a, ca = reduce_map(maps_a[name])
    vb, names_b, cb = reduce_map(maps_b[name])
    if names_a != names_b or va.ndim != vb.ndim:
        raise MemoError(f"the two {name} maps have different axes ({names_a} and {names_b})")
    grid = []
    for x, y in zip(ca, cb):
        lo, hi = max(x.min(), y.min()), min(x.max(), y.max())
        if hi < lo:
            raise MemoError(f"the two {name} maps do not overlap on one of their axes")
        if x.shape == y.shape and np.allclose(x, y):
            grid.append(x)
            continue
        step = max(np.median(np.diff(np.sort(x))) if x.size > 1 else 1.0,
                   np.median(np.diff(np.sort(y))) if y.size > 1 else 1.0)
        grid.append(lo + np.arange(int(np.floor((hi - lo) / step + 1e-9)) + 1) * step)
    a, b = _resample(va, ca, grid), _resample(vb, cb, grid)
    return MapDifference(name, tuple(names_a), tuple(grid), a, b, a - b)
