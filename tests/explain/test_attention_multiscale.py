"""memo_core.map_views: explanation maps arranged for the Attention and Multi-scale pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.explain._common import nearest_frame
from memo_core.explain.attention import (
    attention_received,
    attention_row,
    later_frame_weight,
    layer_attention,
    temporal_attention,
    top_attended,
)
from memo_core.explain.explanation import SongExplanation, explanation_axes
from memo_core.explain.multiscale import (
    avg_fusion,
    is_uniform,
    scale_curves,
    scale_frames,
    scale_label,
    scale_predictions_table,
    scale_weights_table,
    window_attention_at,
)
from memo_core.explain.song import song_metrics_table

TARGETS = ("valence", "arousal")


def _result(maps: dict[str, np.ndarray], n: int) -> SongExplanation:
    explanations = {name: {"values": v, "axes": explanation_axes(name, v.shape, n_frames=n, targets=TARGETS)}
                    for name, v in maps.items()}
    t = np.arange(n) * 0.5
    predictions = pd.DataFrame({"time_s": t, "valence": np.zeros(n), "arousal": np.zeros(n)})
    return SongExplanation("song", predictions, explanations)


def _bat(n: int) -> np.ndarray:
    """A BAT-like map: row t uniform over frames 0..t-1, row 0 empty."""
    w = np.zeros((n, n))
    for t in range(1, n):
        w[t, :t] = 1.0 / t
    return w


def test_scale_label_and_nearest_frame():
    assert scale_label(5) == "5 frames (2.5 s)"
    assert scale_label(20) == "20 frames (10 s)"
    assert nearest_frame([0.0, 0.5, 1.0], 0.7) == 1
    assert nearest_frame([0.0, 0.5, 1.0], 9.0) == 2
    with pytest.raises(MemoError):
        nearest_frame([], 1.0)


def test_temporal_attention_received_top_and_causality():
    n = 6
    at = np.full((n, n), 1.0 / n)
    at[:, 4] += 0.5
    at /= at.sum(axis=1, keepdims=True)
    values, q, k = temporal_attention(_result({"temporal_attention": at}, n))
    np.testing.assert_allclose(q, np.arange(n) * 0.5)
    received = attention_received(values)
    assert received.sum() == pytest.approx(1.0)
    assert list(top_attended(received, 1)) == [4]
    assert later_frame_weight(values) > 0
    # BAT: causal, row 0 empty and left out of the mean; plain mean favours the start, relative does not
    bat = _bat(n)
    assert later_frame_weight(bat) == 0.0
    plain = attention_received(bat)
    assert plain.sum() == pytest.approx(1.0) and plain[0] == plain.max() and plain[-1] == 0.0
    relative = attention_received(bat, relative=True)
    np.testing.assert_allclose(relative[:-1], 1.0)
    assert relative[-1] == 0.0
    assert attention_received(np.zeros((3, 3))).tolist() == [0.0, 0.0, 0.0]
    assert temporal_attention(_result({}, n)) is None


def test_top_attended_is_in_time_order_and_bounded():
    received = np.array([0.1, 0.5, 0.05, 0.3, 0.05])
    assert top_attended(received, 2).tolist() == [1, 3]
    assert top_attended(received, 99).tolist() == [0, 1, 2, 3, 4]
    assert top_attended(received, 0).tolist() == []


def test_attention_row_and_layer_attention():
    n = 4
    bat = _bat(n)
    i, row = attention_row(bat, np.arange(n) * 0.5, 1.1)
    assert i == 2 and row.tolist() == [0.5, 0.5, 0.0, 0.0]
    layers = np.random.default_rng(0).random((2, 3, n, n))
    values, q, k = layer_attention(_result({"layer_attention": layers}, n))
    assert values.shape == (2, 3, n, n) and len(q) == len(k) == n
    assert layer_attention(_result({}, n)) is None


def _mca(n: int, uniform: bool = False) -> SongExplanation:
    rng = np.random.default_rng(1)
    beta = np.full((n, 3), 1 / 3) if uniform else rng.dirichlet(np.ones(3), size=n)
    maps = {"scale_weights": beta, "scale_predictions": rng.uniform(-1, 1, (n, 3, 2))}
    for length in (5, 10, 20):
        w = np.zeros((n, length))
        w[:, -1] = 1.0
        maps[f"window_attention/{length}"] = w
    return _result(maps, n)


def test_mca_scale_weights_predictions_and_windows():
    n = 8
    result = _mca(n)
    scales = scale_frames(result, {"scales": [5, 10, 20]})
    assert scales == (5, 10, 20)
    assert scale_frames(result, None) == (5, 10, 20)  # the paper's default
    assert scale_frames(result, {"scales": [1, 2]}) == (5, 10, 20)  # config does not match the maps
    weights = scale_weights_table(result, scales)
    assert list(weights.columns) == ["time_s", "5 frames (2.5 s)", "10 frames (5 s)", "20 frames (10 s)"]
    np.testing.assert_allclose(weights.drop(columns="time_s").sum(axis=1), 1.0)
    assert not is_uniform(weights)
    assert is_uniform(scale_weights_table(_mca(n, uniform=True), scales))
    table = scale_predictions_table(result, scales, "arousal")
    np.testing.assert_allclose(table["10 frames (5 s)"],
                               result.explanations["scale_predictions"]["values"][:, 1, 1])
    assert scale_predictions_table(result, scales, "dominance") is None
    windows = window_attention_at(result, scales, 1.0)
    assert list(windows) == ["5 frames (2.5 s)", "10 frames (5 s)", "20 frames (10 s)"]
    assert windows["20 frames (10 s)"]["lag_s"].tolist()[0] == -9.5
    assert windows["5 frames (2.5 s)"]["weight"].tolist() == [0, 0, 0, 0, 1]
    with pytest.raises(MemoError):
        scale_weights_table(result, (5, 10))


def test_avg_fusion_is_the_mean_of_the_scales_and_metrics_need_an_annotation():
    n = 10
    per_scale = np.random.default_rng(2).uniform(-1, 1, (n, 4, 2))
    result = _result({"scale_predictions": per_scale, "scale_shares": per_scale / 4}, n)
    average = avg_fusion(result)
    np.testing.assert_allclose(average["valence"], per_scale[:, :, 0].mean(axis=1))
    np.testing.assert_allclose(average["arousal"], per_scale[:, :, 1].mean(axis=1))
    assert scale_frames(result, None, (10, 20, 30, 60)) == (10, 20, 30, 60)
    curves = scale_curves(result, (10, 20, 30, 60))
    assert list(curves) == ["10 frames (5 s)", "20 frames (10 s)", "30 frames (15 s)", "60 frames (30 s)"]
    np.testing.assert_allclose(curves["60 frames (30 s)"]["arousal"], per_scale[:, 3, 1])
    assert avg_fusion(_result({}, n)) is None
    truth = {"time_s": average["time_s"].to_numpy(), "valence": average["valence"].to_numpy(), "arousal": None}
    table = song_metrics_table(truth, {"AVG": average, **curves}, TARGETS)
    assert set(table["target"]) == {"valence"}
    assert table.set_index("curve").loc["AVG", "RMSE"] == pytest.approx(0.0)
    assert song_metrics_table(None, {"AVG": average}, TARGETS).empty


def test_pool_for_display_averages_blocks_and_keeps_small_maps():
    import numpy as np

    from memo_core.explain.attention import pool_for_display

    t = np.arange(10) * 0.5
    w = np.tril(np.ones((10, 10)))
    w /= w.sum(axis=1, keepdims=True)
    same = pool_for_display(w, t, t, max_frames=10)
    assert same[0] is not None and np.array_equal(same[0], w)
    pooled, q, k = pool_for_display(w, t, t, max_frames=4)  # blocks of 3 frames: 3, 3, 3, 1
    assert pooled.shape == (4, 4)
    assert np.allclose(q, [0.5, 2.0, 3.5, 4.5]) and np.allclose(k, q)
    assert np.isclose(pooled[0, 0], w[:3, :3].mean()) and np.isclose(pooled[3, 3], w[9, 9])
    assert np.allclose(np.triu(pooled, 1), 0)  # a causal map stays causal block by block
    grid = pool_for_display(np.stack([w, w]), t, t, max_frames=5)[0]  # leading (layer/head) axes are kept
    assert grid.shape == (2, 5, 5)
