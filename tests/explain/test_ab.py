"""A/B arrays (memo_core.explain.ab): curves on one grid and their difference, maps on one grid."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.explain.ab import (
    align_curves,
    default_pair,
    difference_summary,
    map_difference,
    reduce_map,
    shared_maps,
)


def _frame(t, **columns):
    return pd.DataFrame({"time_s": np.asarray(t, float), **{k: np.asarray(v, float) for k, v in columns.items()}})


def test_two_curves_on_the_span_both_cover_and_their_difference():
    ta = np.arange(0, 10, 0.5)
    tb = np.arange(2, 14, 0.25)
    a = _frame(ta, valence=0.1 * ta, arousal=np.full_like(ta, 0.5))
    b = _frame(tb, valence=0.05 * tb, arousal=np.full_like(tb, -0.2))
    out = align_curves(a, b)
    assert list(out.columns) == ["time_s", "a/valence", "b/valence", "diff/valence", "a/arousal", "b/arousal",
                                 "diff/arousal"]
    assert out["time_s"].iloc[0] == 2.0 and out["time_s"].iloc[-1] == 9.5 and np.allclose(np.diff(out["time_s"]), 0.5)
    assert np.allclose(out["diff/valence"], 0.05 * out["time_s"])  # linear curves: interpolation is exact
    assert np.allclose(out["diff/arousal"], 0.7)
    # only the targets asked for, and those both have
    assert list(align_curves(a, b.drop(columns="arousal"))) == ["time_s", "a/valence", "b/valence", "diff/valence"]


def test_two_songs_lined_up_by_position():
    a = _frame(np.arange(0, 20, 0.5), arousal=np.arange(0, 20, 0.5) / 20)     # 20 s song, rising 0 to 1
    b = _frame(np.arange(0, 40, 0.5), arousal=np.arange(0, 40, 0.5) / 40)     # 40 s song, the same rise
    out = align_curves(a, b, relative=True, duration_a=20.0, duration_b=40.0, targets=("arousal",))
    assert "position" in out and out["position"].iloc[-1] == 100.0 and len(out) == 101
    assert np.abs(out["diff/arousal"]).max() < 0.03  # the same shape: almost no difference
    by_time = align_curves(a, b, targets=("arousal",))
    assert by_time["time_s"].iloc[-1] == 19.5 and by_time["diff/arousal"].iloc[-1] == pytest.approx(19.5 / 20 - 19.5 / 40)


def test_curves_that_cannot_be_compared_are_refused():
    a = _frame([0, 1, 2], valence=[0, 0, 0])
    with pytest.raises(MemoError, match="do not overlap"):
        align_curves(a, _frame([5, 6], valence=[1, 1]))
    with pytest.raises(MemoError, match="share no"):
        align_curves(a, _frame([0, 1], arousal=[1, 1]))


def test_difference_summary_says_how_far_apart_and_where():
    t = np.arange(0, 5, 0.5)
    aligned = align_curves(_frame(t, valence=np.sin(t), arousal=t / 5), _frame(t, valence=np.sin(t) - 0.2,
                                                                                 arousal=-t / 5))
    summary = difference_summary(aligned).set_index("target")
    assert summary.loc["valence", "mean A - B"] == pytest.approx(0.2)
    assert summary.loc["valence", "r (A, B)"] == pytest.approx(1.0)
    assert summary.loc["arousal", "r (A, B)"] == pytest.approx(-1.0)
    assert summary.loc["arousal", "largest |A - B|"] == pytest.approx(2 * 4.5 / 5)
    assert summary.loc["arousal", "at"] == 4.5
    flat = difference_summary(align_curves(_frame(t, valence=np.zeros_like(t)), _frame(t, valence=t)))
    assert np.isnan(flat["r (A, B)"].iloc[0])  # a constant curve has no correlation


def _result(**maps):
    return SimpleNamespace(explanations=maps)


def test_shared_maps_and_reduction_to_two_axes():
    q = np.arange(4) * 0.5
    att = {"values": np.random.default_rng(0).random((4, 4)), "axes": {"query_time_s": q, "key_time_s": q}}
    layers = {"values": np.arange(2 * 3 * 4 * 4, dtype=float).reshape(2, 3, 4, 4),
              "axes": {"layer": np.arange(2), "head": np.arange(3), "query_time_s": q, "key_time_s": q}}
    a = _result(temporal_attention=att, layer_attention=layers, scale_weights={"values": np.ones((4, 3)),
                                                                                 "axes": {"time_s": q, "scale": [5, 10, 20]}})
    b = _result(temporal_attention=att, scale_weights={"values": np.ones((4, 3)), "axes": {"time": q, "scale": [1, 2, 3]}},
                other={"values": np.ones(3)})
    assert shared_maps(a, b) == ["temporal_attention"]  # scale_weights' axes differ by name
    curve = {"values": np.ones(4), "axes": {"time_s": q}}
    assert shared_maps(_result(curve=curve, temporal_attention=att),
                       _result(temporal_attention=att, curve=curve)) == ["temporal_attention", "curve"]
    values, names, coords = reduce_map(layers)
    assert names == ["query_time_s", "key_time_s"] and values.shape == (4, 4)
    assert np.allclose(values, layers["values"].mean(axis=(0, 1))) and np.allclose(coords[0], q)


def test_map_difference_on_one_grid():
    q = np.arange(6) * 0.5
    va = np.outer(q, np.ones(6))
    vb = np.outer(np.ones(6), q)
    a = _result(temporal_attention={"values": va, "axes": {"query_time_s": q, "key_time_s": q}})
    b = _result(temporal_attention={"values": vb, "axes": {"query_time_s": q, "key_time_s": q}})
    found = map_difference(a, b, "temporal_attention")
    assert found.axis_names == ("query_time_s", "key_time_s") and np.allclose(found.axes[0], q)
    assert np.allclose(found.diff, va - vb) and np.allclose(found.a, va)
    # another song, longer and on a finer grid: both put on the coarser grid within the span both cover
    q2 = np.arange(20) * 0.25
    c = _result(temporal_attention={"values": np.outer(q2, np.ones(20)), "axes": {"query_time_s": q2,
                                                                                  "key_time_s": q2}})
    found = map_difference(a, c, "temporal_attention")
    assert np.allclose(found.axes[0], q) and np.allclose(found.diff, 0.0)  # the same linear map
    with pytest.raises(MemoError, match="need the map"):
        map_difference(a, _result(), "temporal_attention")


def test_the_default_pair_shares_a_map():
    q = np.arange(4) * 0.5
    att = {"values": np.ones((4, 4)), "axes": {"query_time_s": q, "key_time_s": q}}
    curve = {"values": np.ones(4), "axes": {"time_s": q}}
    results = {"mlr": _result(curve=curve), "loudness": _result(curve=curve), "at": _result(curve=curve,
                                                                                              temporal_attention=att),
               "mca": _result(curve=curve), "bat": _result(temporal_attention=att)}
    assert default_pair(results) == ("at", "bat")
    assert default_pair({k: results[k] for k in ("mlr", "loudness", "mca")}) == ("mlr", "loudness")
    assert default_pair({"mlr": results["mlr"]}) is None
