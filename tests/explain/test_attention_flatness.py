"""memo_core.explain.attention: how far a map is from uniform attention (the "nearly flat" rule) and its colour scale."""

from __future__ import annotations

import numpy as np
import pytest

from memo_core.explain.attention import (
    FLAT_LIFT,
    attention_received,
    colour_range,
    flatness,
    flatness_note,
    top_attended,
)


def _uniform(n: int) -> np.ndarray:
    return np.full((n, n), 1.0 / n)


def test_uniform_attention_is_flat_and_its_top_frames_are_noise():
    found = flatness(_uniform(90))
    assert found.uniform == pytest.approx(1 / 90) and found.peak_lift == pytest.approx(1.0)
    assert found.top_lift == pytest.approx(1.0) and found.top_excess == pytest.approx(0.0, abs=1e-12)
    assert found.flat and found.flat_received


def test_a_few_thousandths_above_uniform_is_still_nearly_flat():
    # AT on the shipped set: the most attended frames get about 0.0137 where uniform gives 0.0111
    rng = np.random.default_rng(0)
    weights = 1.0 / 90 + rng.uniform(-0.002, 0.002, size=(90, 90))
    weights /= weights.sum(axis=1, keepdims=True)
    found = flatness(weights)
    assert found.peak - found.uniform < 0.005 and found.peak_lift < FLAT_LIFT
    assert found.top_excess < 0.005
    assert found.flat and found.flat_received
    note = flatness_note("at", found)
    assert note.startswith("**at**: nearly flat: a prediction's largest weight is on average 1.")
    assert f"against {1 / 90:.4f}" in note


def test_attention_on_a_few_frames_is_not_flat():
    n = 40
    weights = np.full((n, n), 0.2 / (n - 2))
    weights[:, [10, 30]] = 0.4                  # every prediction puts 80 % on two frames
    found = flatness(weights)
    assert found.peak_lift == pytest.approx(0.4 * n) and not found.flat
    assert found.top_lift == pytest.approx(0.4 * n) and not found.flat_received
    assert found.top_excess == pytest.approx(0.4 - 1 / n)
    assert top_attended(attention_received(weights, relative=True), 2).tolist() == [10, 30]
    assert flatness_note("bat", found).startswith("**bat**: peaked: a prediction's largest weight is on average 16.00x")


def test_a_peaked_diagonal_is_not_flat_though_every_frame_receives_alike():
    # each prediction looks at itself: the map is far from flat, but no frame is attended more than another
    n = 20
    weights = np.eye(n) * 0.9 + 0.1 / n
    found = flatness(weights)
    assert not found.flat and found.flat_received


def test_causal_maps_count_uniform_over_the_frames_each_prediction_may_see():
    n = 10
    weights = np.zeros((n, n))
    for t in range(1, n):                        # BAT: row t attends to frames 0..t-1, uniformly; row 0 to nothing
        weights[t, :t] = 1.0 / t
    found = flatness(weights)
    assert found.uniform == pytest.approx(np.mean([1.0 / t for t in range(1, n)]))
    assert found.peak_lift == pytest.approx(1.0) and found.top_lift == pytest.approx(1.0) and found.flat
    assert found.top_excess == pytest.approx(0.0, abs=1e-12)   # frame 0 gets more, but only what uniform gives
    # layers and heads are pooled; a map where nothing attends is flat
    assert flatness(np.stack([weights, weights])).flat
    assert flatness(np.zeros((5, 5))).flat


def test_each_map_gets_its_own_colour_range():
    at = 1.0 / 90 + np.linspace(-0.002, 0.002, 90 * 90).reshape(90, 90)
    lo, hi = colour_range(at)
    assert 1 / 90 - 0.002 <= lo < hi <= 1 / 90 + 0.002      # AT's few thousandths fill the whole scale
    bat = np.tril(np.full((10, 10), 0.1), -1)
    bat[1, 0] = 1.0                                          # one saturated cell does not set the top
    lo, hi = colour_range(bat)
    assert lo == 0.0 and hi < 1.0                            # cells no prediction may see read as zero
    assert colour_range(np.zeros((3, 3))) == (0.0, 1.0)
    lo, hi = colour_range(np.full((4, 4), 0.25))
    assert lo < hi
