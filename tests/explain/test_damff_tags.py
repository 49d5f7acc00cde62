"""memo_core.map_views_spectral: DAMFF maps unfolded onto the song, DAMFF variants, tag tables, late fusion and
the tagger's self-attention neighbourhoods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from memo_core.errors import MemoError
from memo_core.explain.damff import (
    bands_on_view,
    damff_row_hz,
    damff_step,
    damff_variant,
    damff_variant_table,
    gate_share,
    logmel_between,
    unfold_damff,
    unfold_step_map,
)
from memo_core.explain.explanation import SongExplanation
from memo_core.explain.tags import (
    attention_neighbourhood,
    attention_time_lean,
    fuse_taggers,
    neighbourhood_offsets,
    tag_order,
    tag_score_table,
    tag_table_wide,
)


def _damff_entry(n_steps=3, n_rows=4, n_cols=2):
    values = np.arange(n_steps * n_rows * n_cols, dtype=float).reshape(n_steps, n_rows, n_cols)
    return {"values": values, "axes": {"time_s": np.arange(n_steps) * 0.5,
                                       "mel_band": np.arange(n_rows) * 8 + 3.5,
                                       "step_time_s": np.arange(n_cols) * 0.08}}


def test_unfold_puts_steps_side_by_side_in_time_order():
    entry = _damff_entry()
    image, t = unfold_step_map(entry["values"], time_s=entry["axes"]["time_s"],
                               step_time_s=entry["axes"]["step_time_s"])
    assert image.shape == (4, 6)
    # row 1 of step 2, column 1 is values[2, 1, 1]
    assert image[1, 2 * 2 + 1] == entry["values"][2, 1, 1]
    assert image[3, 0] == entry["values"][0, 3, 0]
    np.testing.assert_allclose(t, [0.04, 0.12, 0.54, 0.62, 1.04, 1.12])
    assert np.all(np.diff(t) > 0)


def test_unfold_one_column_spans_the_step_and_bad_shapes_raise():
    image, t = unfold_step_map(np.ones((2, 3, 1)), time_s=[0.0, 0.5], step_time_s=[0.0])
    assert image.shape == (3, 2)
    np.testing.assert_allclose(t, [0.25, 0.75])
    with pytest.raises(MemoError):
        unfold_step_map(np.ones((2, 3, 2)), time_s=[0.0, 0.5, 1.0], step_time_s=[0.0, 0.08])


def test_damff_rows_are_in_hz_low_to_high_within_the_model_band():
    import librosa

    centre, low, high = damff_row_hz(np.arange(16) * 8 + 3.5)
    assert np.all(np.diff(centre) > 0) and np.all(low < centre) and np.all(centre < high)
    assert low[0] == pytest.approx(0.0, abs=1e-6) and high[-1] == pytest.approx(8000.0, rel=1e-6)
    # row 0 pools bands 0..7: from band 0's lower edge to band 7's upper edge
    points = librosa.mel_frequencies(n_mels=130, fmin=0.0, fmax=8000.0)
    assert high[0] == pytest.approx(points[9], rel=1e-6)
    # one band a row: the row's centre is the band's centre
    single, _, _ = damff_row_hz(np.array([10.0]))
    assert single[0] == pytest.approx(points[11], rel=1e-6)


def test_unfold_damff_takes_the_rows_hz_from_the_entrys_own_axes():
    """An entry with ``mel_hz`` (what explain_song writes) needs no page-side sample rate: rows and their edges
    come from the axes, and agree with the band-index computation at the checkpoint's rate."""
    for rate in (16_000, 44_100):
        centre, low, high = damff_row_hz(np.arange(16) * 8 + 3.5, sample_rate=rate)
        entry = _damff_entry(n_rows=16)
        entry["axes"] = {"time_s": entry["axes"]["time_s"], "mel_hz": centre,
                         "step_time_s": entry["axes"]["step_time_s"]}
        unfolded = unfold_damff(entry, sample_rate=999_999, n_mels=1)  # the fallbacks are not used
        np.testing.assert_allclose(unfolded.row_hz, centre)
        np.testing.assert_allclose(unfolded.row_low_hz, low, atol=1e-6)
        np.testing.assert_allclose(unfolded.row_high_hz, high, rtol=1e-9)
        assert damff_step(entry, 0)[1] is not None and np.allclose(damff_step(entry, 0)[1], centre)


def test_unfold_damff_and_bands_on_a_display_log_mel():
    unfolded = unfold_damff(_damff_entry(n_rows=16))
    assert unfolded.values.shape == (16, 6) and len(unfolded.row_hz) == 16
    view_hz = np.linspace(100.0, 11000.0, 96)
    y = bands_on_view(unfolded.row_hz, view_hz)
    assert np.isnan(y[0]) or y[0] >= 0  # the lowest row may sit below the display's first band
    inside = ~np.isnan(y)
    assert inside.sum() >= 14 and np.all(np.diff(y[inside]) > 0) and y[inside].max() < 95
    np.testing.assert_allclose(bands_on_view(np.array([100.0, 11000.0, 50.0, 12000.0]), view_hz)[:2], [0, 95])
    assert np.isnan(bands_on_view(np.array([50.0, 12000.0]), view_hz)).all()


def test_one_step_its_log_mel_block_and_the_gate_share():
    entry = _damff_entry()
    values, bands, cols = damff_step(entry, 1)
    np.testing.assert_array_equal(values, entry["values"][1])
    assert len(bands) == 4 and len(cols) == 2
    with pytest.raises(MemoError, match="outside"):
        damff_step(entry, 3)
    logmel = np.arange(20, dtype=float).reshape(2, 10)
    times = np.arange(10) * 0.1 + 0.05
    block, t = logmel_between(logmel, times, 0.5, 1.0)
    np.testing.assert_allclose(t, [0.55, 0.65, 0.75, 0.85, 0.95])
    assert block.shape == (2, 5) and block[0, 0] == 5
    _, t = logmel_between(logmel, times, 5.0, 5.5)  # past the end: the nearest column
    assert len(t) == 1 and t[0] == pytest.approx(0.95)
    gate = {"values": np.stack([np.full((4, 2), 0.2), np.full((4, 2), 0.9)]), "axes": {"time_s": np.array([0, .5])}}
    time_s, share = gate_share(gate)
    np.testing.assert_allclose(share, [0.2, 0.9])
    np.testing.assert_allclose(time_s, [0.0, 0.5])


@pytest.mark.parametrize("preset, variant", [("tiny", "daff"), ("paper", "daff"), ("tiny_wo_fusion", "wo_fusion"),
                                             ("paper_tf", "tf"), ("tiny_wo_daff", "wo_daff"), ("odd", "odd")])
def test_damff_variant_of_a_preset(preset, variant):
    assert damff_variant(preset) == variant


def test_damff_variant_table_marks_missing_checkpoints_with_a_train_command():
    table = damff_variant_table({"damff": "tiny", "damff_nofuse": "tiny_wo_fusion", "mine": "custom"})
    rows = table.set_index("variant")
    assert rows.loc["daff", "checkpoints"] == "damff" and rows.loc["daff", "train"] == ""
    assert rows.loc["wo_fusion", "checkpoints"] == "damff_nofuse"
    assert rows.loc["wo_channel", "checkpoints"] == ""
    assert rows.loc["wo_channel", "train"] == ("python -m memo_core train --model damff --preset tiny_wo_channel "
                                               "--dataset synth --out damff_wo_channel.pt")
    assert rows.loc["wo_daff", "maps"] == "none"
    assert "fusion_gate" not in rows.loc["wo_fusion", "maps"]
    assert rows.loc["custom", "kind"] == "other preset"
    assert {"wo_fusion", "wo_channel", "wo_spatial", "wo_daff", "tf", "square", "ts", "fs"} <= set(table["variant"])


def test_the_train_commands_name_real_presets():
    from memo_core.models.registry import get_model

    for command in damff_variant_table({})["train"]:
        preset = command.split("--preset ")[1].split()[0]
        get_model("damff", preset=preset)  # raises on an unknown preset


def _tagger(name, scores, thresholds, tags=("calm", "happy", "sad")):
    frame = pd.DataFrame({"tag": list(tags), "score": scores, "threshold": thresholds})
    frame["predicted"] = frame["score"] >= frame["threshold"]
    return SongExplanation("song", frame, {}, tuple(tags), False, name, "tagging")


def test_late_fusion_is_the_mean_of_the_probabilities():
    a = _tagger("vggish", [0.9, 0.1, 0.4], [0.5, 0.5, 0.5])
    b = _tagger("vggish", [0.5, 0.3, 0.2], [0.3, 0.5, 0.1])
    fused = fuse_taggers({"vggish": a, "vggish_sa3": b})
    np.testing.assert_allclose(fused.predictions["score"], [0.7, 0.2, 0.3])
    np.testing.assert_allclose(fused.predictions["threshold"], [0.4, 0.5, 0.3])
    assert fused.predictions["predicted"].tolist() == [True, False, True]
    assert fused.model_name == "late fusion (vggish + vggish_sa3)"
    with pytest.raises(MemoError):
        fuse_taggers({"vggish": a})
    with pytest.raises(MemoError):
        fuse_taggers({"vggish": a, "other": _tagger("x", [0.1, 0.2], [0.5, 0.5], tags=("calm", "epic"))})


def test_tag_table_marks_predictions_thresholds_and_true_tags():
    a = _tagger("vggish", [0.9, 0.1, 0.4], [0.5, 0.5, 0.5])
    b = _tagger("vggish", [0.5, 0.3, 0.2], [0.3, 0.5, 0.1])
    fused = fuse_taggers({"a": a, "b": b})
    table = tag_score_table({"a": a, "b": b}, true_tags=("sad",), fused=fused)
    assert list(table.columns) == ["model", "tag", "score", "threshold", "predicted", "true"]
    assert len(table) == 9 and set(table["model"]) == {"a", "b", "late fusion"}
    assert table.loc[table["true"], "tag"].unique().tolist() == ["sad"]
    row = table[(table["model"] == "b") & (table["tag"] == "sad")].iloc[0]
    assert row["predicted"] and row["threshold"] == pytest.approx(0.1)
    assert tag_order(table) == ["calm", "sad", "happy"]
    assert tag_order(table, by="b") == ["calm", "happy", "sad"]
    wide = tag_table_wide(table)
    assert wide["tag"].tolist() == ["calm", "sad", "happy"]
    assert wide["annotated"].tolist() == [False, True, False]
    assert wide["b score"].tolist() == pytest.approx([0.5, 0.2, 0.3])
    assert wide["late fusion predicted"].tolist() == [True, True, False]
    assert list(tag_table_wide(table, ["happy"])["tag"]) == ["happy"]
    assert tag_score_table({}).empty and tag_order(tag_score_table({})) == []
    curve = SongExplanation("song", pd.DataFrame({"time_s": [0.0], "valence": [0.1]}))
    with pytest.raises(MemoError, match="not tags"):
        tag_score_table({"mca": curve})


def test_neighbourhood_offsets_follow_the_model_layout():
    freq, time = neighbourhood_offsets(9)
    assert freq.tolist() == [-1, -1, -1, 0, 0, 0, 1, 1, 1]
    assert time.tolist() == [-1, 0, 1, -1, 0, 1, -1, 0, 1]
    # the model's own layout: at a map's corners, exactly the neighbours the offsets put outside are masked
    from memo_core.models.layers import LocalSelfAttention2d

    layer = LocalSelfAttention2d(4, 4, kernel_size=3, n_heads=2)
    mask = layer.neighbour_mask(5, 6)[0, 0].numpy()  # [freq, time, neighbour]
    for f, t in ((0, 0), (4, 5), (0, 5), (2, 3)):
        inside = (f + freq >= 0) & (f + freq < 5) & (t + time >= 0) & (t + time < 6)
        assert mask[f, t].tolist() == inside.tolist(), (f, t)
    with pytest.raises(MemoError):
        neighbourhood_offsets(8)


def test_attention_neighbourhood_and_time_lean():
    values = np.zeros((2, 3, 4, 9))
    values[0, :, :, 3] = 1.0  # head 0 looks at the previous column (same band)
    values[1, :, :, 7] = 1.0  # head 1 looks one band up, same column
    grid = attention_neighbourhood(values, position=2, head=0)
    assert grid.shape == (3, 3) and grid[1, 0] == 1.0 and grid.sum() == pytest.approx(1.0)
    grid = attention_neighbourhood(values, position=2, head=None)
    assert grid[1, 0] == pytest.approx(0.5) and grid[2, 1] == pytest.approx(0.5)
    lean = attention_time_lean(values, head=0)
    assert lean.shape == (3, 4) and np.all(lean == -1.0)
    assert np.all(attention_time_lean(values, head=1) == 0.0)
    np.testing.assert_allclose(attention_time_lean(values), -0.5)
    assert np.all(attention_time_lean(np.zeros((1, 2, 2, 9))) == 0.0)  # no weight at all: 0, not nan
    with pytest.raises(MemoError):
        attention_neighbourhood(values, position=4)
    with pytest.raises(MemoError):
        attention_neighbourhood(values, position=0, head=2)
    with pytest.raises(MemoError):
        attention_time_lean(np.zeros((3, 4, 9)))
