"""validate-real: the song bootstrap, the figures' edge cases, and the whole scoring on tiny checkpoints.

The checkpoints are trained here (``loudness`` and ``at``, tiny, on the ``loudness`` features) on a
generic-layout set whose arousal follows each song's level, and scored on it and on a 4Q layout
whose high-arousal clips are the loud ones: the loudness checkpoint must rank every 4Q clip right.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import warnings

import numpy as np
import pytest

from memo_core.data import load_dataset
from memo_core.data.sequences import build_examples
from memo_core.errors import CheckpointError, MemoError
from memo_core.experiments.pipeline import save_trained
from memo_core.experiments.validate_real import (
    INTERVAL,
    _ccc,
    _pearson,
    format_report,
    load_4q_songs,
    plain,
    spec_key,
    validate_checkpoints,
    write_into_manifest,
)
from memo_core.metrics import bootstrap
from memo_core.metrics import roc_auc as _auc
from memo_core.pretrained import MANIFEST_NAME, read_manifest
from memo_core.training.checkpoints import load_checkpoint
from memo_core.training.loop import train_model
from tests._helpers import REPO
from tests.realdata_layouts import Clip, quadrant_clips, write_4q, write_generic

N_BOOT = 200

# --------------------------------------------------------------------------- bootstrap


def _mean_interval(values: np.ndarray, **kw) -> dict[str, float]:
    return bootstrap(len(values), lambda idx: float(values[idx].mean()), **kw)


def test_bootstrap_interval_of_a_mean():
    values = np.random.default_rng(0).normal(2.0, 1.0, 100)
    fig = _mean_interval(values, n_boot=2000, seed=0)
    assert set(fig) == {"value", "lo", "hi"}
    assert fig["value"] == pytest.approx(values.mean())
    assert fig["lo"] < 2.0 < fig["hi"] and fig["lo"] < fig["value"] < fig["hi"]
    # about +/- 1.645 standard errors
    width = fig["hi"] - fig["lo"]
    assert width == pytest.approx(2 * 1.645 * values.std() / 10, rel=0.15)
    assert _mean_interval(values, n_boot=2000, level=0.5)["hi"] - _mean_interval(values, n_boot=2000, level=0.5)["lo"] \
        < 0.5 * width


def test_bootstrap_narrows_with_more_songs():
    rng = np.random.default_rng(1)
    few, many = rng.normal(0, 1, 25), rng.normal(0, 1, 400)
    w_few = np.subtract(*reversed(list(_mean_interval(few, n_boot=1000).values())[1:]))
    w_many = np.subtract(*reversed(list(_mean_interval(many, n_boot=1000).values())[1:]))
    assert 0 < w_many < 0.4 * w_few  # a quarter in theory (sqrt(400 / 25) = 4)


def test_bootstrap_is_seeded_and_undefined_below_two_songs():
    values = np.random.default_rng(2).normal(0, 1, 30)
    assert _mean_interval(values, seed=3) == _mean_interval(values, seed=3)
    assert _mean_interval(values, seed=3)["lo"] != _mean_interval(values, seed=4)["lo"]
    one = _mean_interval(np.array([0.7]))
    assert one["value"] == pytest.approx(0.7) and math.isnan(one["lo"]) and math.isnan(one["hi"])
    none = bootstrap(0, lambda idx: 1.0)
    assert all(math.isnan(v) for v in none.values())
    # a statistic undefined on (nearly) every resample has no interval
    distinct = bootstrap(20, lambda idx: float(len(set(idx)) == 20) if len(set(idx)) == 20 else math.nan, n_boot=300)
    assert distinct["value"] == 1.0 and math.isnan(distinct["lo"]) and math.isnan(distinct["hi"])
    # one defined on most resamples has one (an AUC with a single positive song: ~63 % of resamples hold it)
    labels, scores = np.array([True] + [False] * 19), np.linspace(0, 1, 20)
    auc = bootstrap(20, lambda idx: _auc(labels[idx], scores[idx]), n_boot=300)
    assert auc["value"] == 0.0 and auc["lo"] == auc["hi"] == 0.0


def test_auc_pearson_ccc_edge_cases():
    assert math.isnan(_auc(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3])))
    assert math.isnan(_auc(np.array([0, 0]), np.array([0.1, 0.2])))
    assert _auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert _auc(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert _auc(np.array([1, 0, 1, 0]), np.zeros(4)) == 0.5
    assert _auc(np.array([-1.0, 1.0]) > 0, np.array([-3.0, 2.0])) == 1.0
    rng = np.random.default_rng(3)  # the rank-sum AUC equals sklearn's, ties included
    labels, scores = rng.random(60) > 0.4, np.round(rng.normal(size=60), 1)
    from sklearn.metrics import roc_auc_score
    assert _auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert math.isnan(_auc(np.array([0, 1]), np.array([0.1, np.nan])))
    assert math.isnan(_pearson(np.array([1.0, 2.0]), np.array([1.0, 2.0])))  # fewer than 3
    assert math.isnan(_pearson(np.ones(5), np.arange(5.0)))  # constant
    assert math.isnan(_pearson(np.arange(5.0), np.full(5, 2.0)))
    assert _pearson(np.arange(5.0), 3 * np.arange(5.0) + 1) == pytest.approx(1.0)
    assert _pearson(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)
    assert _ccc(np.arange(4.0), np.arange(4.0)) == pytest.approx(1.0)
    assert _ccc(np.arange(4.0) + 1, np.arange(4.0)) < 1.0  # a bias lowers it, unlike r
    assert math.isnan(_ccc(np.array([1.0]), np.array([1.0])))


# --------------------------------------------------------------------------- end to end on tiny checkpoints


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    base = tmp_path_factory.mktemp("validate")
    generic = write_generic(base / "generic", n_songs=6)
    fourq = base / "fourq"
    write_4q(fourq, quadrant_clips(n_artists=6, per_artist=2) + [Clip("MT9999999999", "Q3", artist="Z", audio=False)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        examples = build_examples(load_dataset("generic", generic), features="loudness", progress=False)
    parts = {"train": examples[:4], "validation": examples[4:5], "test": examples[5:]}
    checkpoints = {}
    for name in ("loudness", "at"):
        result = train_model(name, "tiny", parts["train"], parts["validation"], config_overrides={"max_epochs": 1})
        path = save_trained(base / f"{name}.pt", result, parts, dataset="generic", features="loudness", split_seed=0,
                            metrics={})
        checkpoints[name] = load_checkpoint(path)
    results = validate_checkpoints(checkpoints, real_sources=[("generic", generic)], fourq_root=fourq, n_boot=N_BOOT)
    return {"checkpoints": checkpoints, "results": results, "generic": generic, "fourq": fourq, "base": base}


def _figure_ok(fig: dict) -> None:
    assert set(fig) == {"value", "lo", "hi"}
    assert all(np.isfinite(v) for v in fig.values()) and fig["lo"] <= fig["hi"]


def test_validate_checkpoints_scores_clips_and_4q(scored):
    results, ckpts = scored["results"], scored["checkpoints"]
    assert ckpts["at"].normalizer.clip == 5.0  # the clip travels with the checkpoint
    assert set(results) == {"loudness", "at"}
    for key, res in results.items():
        v = res["validation_real"]
        assert v["interval"] == INTERVAL and v["command"] == "python -m memo_core validate-real"
        clips = v["clips"]
        assert clips["datasets"] == "generic" and clips["n_songs"] == 6 and clips["n_frames"] == 36
        for target in ("valence", "arousal"):
            for name in ("pooled_r", "song_r", "rmse", "ccc"):
                _figure_ok(clips[target][name])
            _figure_ok(clips["loudness"][target]["pooled_r"])
        fq = v["4q"]
        assert fq["n_songs"] == 12 and fq["n_artists"] == 6  # the clip without mp3 is not scored
        assert fq["split"].startswith("every 4Q clip")
        for target in ("arousal", "valence"):
            assert 0.0 <= fq[f"{target}_auc"]["value"] <= 1.0
        assert fq["baselines"]["loudness_level"]["arousal_auc"]["value"] == 1.0  # the fixture's loud = aroused
        assert isinstance(v["verdict"], str) and v["verdict"].startswith("On 12 real recordings")
        assert f", {key} " in v["verdict"] and v["verdict"].endswith(".")
        for t in v["targets"]:
            assert set(t) == {"what", "met", "value"} and isinstance(t["met"], bool) and np.isfinite(t["value"])
        if key == "loudness":  # a baseline is the bar, not held to it
            assert v["targets"] == []
        else:
            assert "4Q arousal ROC-AUC >= 0.90" in [t["what"] for t in v["targets"]]
    # the loudness checkpoint: arousal is the level, on the clips and on 4Q
    loud = results["loudness"]["validation_real"]
    assert loud["clips"]["arousal"]["pooled_r"]["value"] > 0.99
    assert loud["4q"]["arousal_auc"]["value"] == 1.0
    assert "loudness" not in loud["4q"]["baselines"]  # not its own baseline
    assert "best" not in loud and "faithfulness" not in results["loudness"]  # a baseline, no maps
    # the explained model is shown against the loudness checkpoint on the same clips
    at = results["at"]["validation_real"]
    assert at["4q"]["baselines"]["loudness"] == {k: loud["4q"][k] for k in ("valence_auc", "arousal_auc")}
    assert at["best"] is True and any(t["what"].startswith("best: ") for t in at["targets"])
    assert results["at"]["faithfulness"]["n_songs"] == 6 and results["at"]["faithfulness"]["sentence"]


def test_4q_clips_a_checkpoint_trained_on_are_left_out(scored):
    ckpts, fourq = scored["checkpoints"], scored["fourq"]
    ids = sorted(c.song_id for c in load_4q_songs(fourq))
    assert len(ids) == 12

    def trained_on(ckpt, train, validation=()):
        info = {**ckpt.info, "train_info": {**ckpt.info["train_info"],
                                            "split": {"train": [f"4q:{i}" for i in train],
                                                      "validation": [f"4q:{i}" for i in validation],
                                                      "test": ["4q:" + ids[-1]]}}}
        return dataclasses.replace(ckpt, info=info)

    at = trained_on(ckpts["at"], ids[:4], ids[4:5])
    results = validate_checkpoints({"loudness": ckpts["loudness"], "at": at}, real_sources=[], fourq_root=fourq,
                                   n_boot=N_BOOT, faithfulness=False)
    fq = results["at"]["validation_real"]["4q"]
    assert fq["n_songs"] == 7 and "artist-held-out" in fq["split"]
    assert results["loudness"]["validation_real"]["4q"]["n_songs"] == 12  # what "at" saw is not the baseline's
    assert "clips" not in results["at"]["validation_real"]
    # a baseline's training clips are left out of every checkpoint's figures, so all compare on the same clips
    loud = trained_on(ckpts["loudness"], ids[:2])
    results = validate_checkpoints({"loudness": loud, "at": at}, real_sources=[], fourq_root=fourq, n_boot=N_BOOT,
                                   faithfulness=False)
    assert results["at"]["validation_real"]["4q"]["n_songs"] == 7  # ids[:2] are among its own
    assert results["loudness"]["validation_real"]["4q"]["n_songs"] == 10
    # fewer than 4 unseen clips: no 4Q figures, and the verdict says so
    nearly_all = trained_on(ckpts["at"], ids[:9])
    results = validate_checkpoints({"at": nearly_all}, real_sources=[], fourq_root=fourq, n_boot=N_BOOT,
                                   faithfulness=False)
    assert "4q" not in results["at"]["validation_real"]
    assert results["at"]["validation_real"]["verdict"] == "at: not scored on real recordings."


def test_validate_checkpoints_needs_real_recordings(scored, tmp_path):
    with pytest.raises(MemoError, match="no real recordings"):
        validate_checkpoints(scored["checkpoints"], real_sources=[], fourq_root="")
    write_4q(tmp_path, [Clip("X1", "Q1", audio=False)])
    with pytest.raises(MemoError, match="no readable 4Q clip with audio"):
        load_4q_songs(tmp_path)


def test_an_unreadable_clip_is_left_out_with_a_warning(scored, tmp_path):
    fourq = tmp_path / "fourq"
    shutil.copytree(scored["fourq"], fourq)
    broken = sorted(fourq.glob("**/Q*/*.mp3"))[0]
    broken.write_bytes(b"not audio at all")
    with pytest.warns(UserWarning, match=r"1 file\(s\) in 4q .* could not be read"):
        clips = load_4q_songs(fourq)
    assert len(clips) == 11 and broken.stem not in {c.song_id for c in clips}


def test_each_feature_set_is_extracted_once_per_song_and_the_audio_not_kept(scored):
    spec = scored["checkpoints"]["at"].feature_spec
    clips = load_4q_songs(scored["fourq"], [spec, spec], unscored={"MT0000000001"})
    assert len(clips) == 12
    assert all(not hasattr(c, "audio") for c in clips)
    for c in clips:
        assert list(c.features) == ([] if c.song_id == "MT0000000001" else [spec_key(spec)])


def test_format_report_table(scored):
    text = format_report(scored["results"])
    lines = text.splitlines()
    header = ("| checkpoint | 4Q songs | 4Q arousal AUC | 4Q valence AUC | clips A r (pooled) | clips V r (pooled) "
              "| clips A r (songs) | clips V r (songs) | targets met |")
    assert header in lines
    start = lines.index(header)
    rows = lines[start + 2:start + 5]
    assert rows[0].startswith("| `loudness` (baseline) | 12 | 1.00 [1.00, 1.00] |")
    assert rows[1].startswith("| `at` | 12 |")
    assert rows[2].startswith("| loudness level (raw `rms_db_2s`, no model) | 12 | 1.00 [1.00, 1.00] |")
    assert all(r.count("|") == 10 for r in rows)
    assert "(generic, 6 songs;" in text and "- `at`: " in text  # the faithfulness line
    assert format_report({}) == ""
    # read back from a manifest (undefined figures as null) the table is the same
    assert format_report(json.loads(json.dumps(plain(scored["results"])))) == text


def test_write_into_manifest_refuses_a_manifest_with_entries_of_the_wrong_shape(tmp_path):
    """Writing back only the entries that follow the schema would drop the others from the file without a word."""
    manifest = json.loads((REPO / "checkpoints" / MANIFEST_NAME).read_text())
    manifest["checkpoints"].append({"key": "odd", "file": "../odd.pt", "sha256": "0" * 64})
    text = json.dumps(manifest)
    (tmp_path / MANIFEST_NAME).write_text(text)
    with pytest.raises(CheckpointError, match="manifest entry 'odd': field 'file'"):
        write_into_manifest(tmp_path, {"at": {"validation_real": {}}})
    assert (tmp_path / MANIFEST_NAME).read_text() == text


def test_write_into_manifest_keeps_the_other_entries(scored, tmp_path):
    shutil.copy(REPO / "checkpoints" / MANIFEST_NAME, tmp_path / MANIFEST_NAME)
    before = read_manifest(tmp_path)
    assert "at" in [e["key"] for e in before["checkpoints"]]
    results = json.loads(json.dumps(scored["results"]))  # a copy
    results["at"]["validation_real"]["4q"]["valence_auc"] = {"value": math.nan, "lo": math.nan, "hi": math.nan}
    results["at"]["validation_real"]["4q"]["n_songs"] = np.int64(12)  # numpy scalars are written as numbers
    path = write_into_manifest(tmp_path, results)
    assert path == tmp_path / MANIFEST_NAME
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME]  # no temporary file left
    text = path.read_text()

    def refuse(token):
        raise AssertionError(f"{token} is not JSON")

    after = json.loads(text, parse_constant=refuse)  # strict JSON: an undefined figure is null, not NaN
    assert after == read_manifest(tmp_path)
    assert {k: v for k, v in after.items() if k != "checkpoints"} == \
        {k: v for k, v in before.items() if k != "checkpoints"}
    assert [e["key"] for e in after["checkpoints"]] == [e["key"] for e in before["checkpoints"]]
    for old, new in zip(before["checkpoints"], after["checkpoints"], strict=True):
        if old["key"] == "at":
            own = {k: v for k, v in old.items() if k not in results["at"]}
            assert {k: v for k, v in new.items() if k in own} == own  # its own fields untouched
            assert new["validation_real"]["verdict"] == scored["results"]["at"]["validation_real"]["verdict"]
            assert new["validation_real"]["4q"]["n_songs"] == 12
            assert new["validation_real"]["4q"]["valence_auc"] == {"value": None, "lo": None, "hi": None}
            assert new["faithfulness"]["n_songs"] == 6
        elif old["key"] in results:  # the shipped loudness baseline: its figures replaced, its own fields kept
            assert {k: v for k, v in new.items() if k not in results[old["key"]]} == \
                {k: v for k, v in old.items() if k not in results[old["key"]]}
        else:
            assert new == old
    with pytest.raises(CheckpointError, match="no manifest.json"):
        write_into_manifest(tmp_path / "empty", results)


def test_plain_makes_strict_json_values():
    value = {"a": np.float32("nan"), "b": [np.int64(3), np.bool_(True), (1, math.inf)], 4: np.array([1.5, -np.inf]),
             "c": {"d": np.float64(0.25), "e": "text", "f": None}}
    out = plain(value)
    assert out == {"a": None, "b": [3, True, [1, None]], "4": [1.5, None], "c": {"d": 0.25, "e": "text", "f": None}}
    assert type(out["b"][0]) is int and type(out["b"][1]) is bool and type(out["c"]["d"]) is float
    json.dumps(out, allow_nan=False)


def test_only_a_whole_set_names_its_best_checkpoint(scored):
    """The best checkpoint's own targets are judged over a whole set; scoring part of one must not crown it."""
    best = scored["results"]["at"]["validation_real"]
    assert best.get("best") is True and any(t["what"].startswith("best:") for t in best["targets"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        part = validate_checkpoints(scored["checkpoints"], real_sources=[], fourq_root=scored["fourq"],
                                    n_boot=N_BOOT, faithfulness=False, mark_best=False)
    entry = part["at"]["validation_real"]
    assert "best" not in entry and not any(t["what"].startswith("best:") for t in entry["targets"])
