"""Analysing a song with several checkpoints: shared extraction, the result cache, problems, progress."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import memo_core.explain.analysis as analysis_module
import memo_core.features as features_module
from memo_core.errors import AudioError, FeatureError, MemoError
from memo_core.experiments.bench_features import bench_audio
from memo_core.explain.analysis import (
    SongAnalysis,
    analyse_song,
    analysis_cache_dir,
    checkpoint_fingerprint,
)
from memo_core.explain.explanation import explain_song
from memo_core.features import CacheWarning, get_extractor
from memo_core.pretrained import load_default_checkpoints
from tests._helpers import QUICK, SET, TAGS, make_checkpoint_set


@pytest.fixture(scope="module")
def checkpoint_set(tmp_path_factory) -> Path:
    return make_checkpoint_set(tmp_path_factory.mktemp("analysis-set"))


@pytest.fixture()
def loaded(checkpoint_set):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ckpts, problems = load_default_checkpoints(checkpoint_set)
    assert not problems
    return ckpts


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh feature and result cache for each test."""
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def extract_calls(monkeypatch) -> list[str]:
    """The names of the feature sets actually extracted (cache reads included)."""
    calls = []
    real = features_module.extract

    def counting(audio, name, **kwargs):
        calls.append(name)
        return real(audio, name, **kwargs)

    monkeypatch.setattr(analysis_module, "extract", counting)
    return calls


AUDIO = bench_audio(duration_s=4.0)


def assert_same(a, b, *, exact: bool = True) -> None:
    """Two SongExplanations hold the same predictions and maps (with axes); ``exact=False``: up to float rounding."""
    assert (a.task, a.targets, a.smoothed, a.model_name) == (b.task, b.targets, b.smoothed, b.model_name)
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=exact, rtol=1e-5, atol=1e-6)
    assert list(a.explanations) == list(b.explanations)
    for name, entry in a.explanations.items():
        if exact:
            np.testing.assert_array_equal(entry["values"], b.explanations[name]["values"])
        else:  # one torch thread here, the default count in explain_song: sums may round differently
            np.testing.assert_allclose(entry["values"], b.explanations[name]["values"], rtol=1e-5, atol=1e-6)
        assert list(entry["axes"]) == list(b.explanations[name]["axes"])
        for axis, values in entry["axes"].items():
            np.testing.assert_array_equal(np.asarray(values), np.asarray(b.explanations[name]["axes"][axis]))


def test_each_feature_set_is_extracted_once_and_results_match_explain_song(loaded, cache, extract_calls):
    result = analyse_song(AUDIO, loaded)
    assert isinstance(result, SongAnalysis) and not result.problems and result.cached == ()
    assert list(result.results) == list(QUICK)
    # mca and at both use deam260: one extraction serves both
    assert sorted(extract_calls) == ["chroma", "deam260", "mel96"]
    assert result.duration_s == pytest.approx(4.0) and result.content_hash == AUDIO.content_hash()
    for key, ckpt in loaded.items():  # the shared path gives what explain_song gives alone
        assert_same(result.results[key], explain_song(ckpt, AUDIO), exact=False)
    tags = result.results["vggish_sa3"]
    assert tags.task == "tagging" and list(tags.predictions["tag"]) == list(TAGS)
    assert result.results["mca"].predictions.shape == (8, 3)  # 4 s = 8 frames: time_s, valence, arousal


def test_a_second_analysis_is_served_from_the_result_cache(loaded, cache, extract_calls):
    assert analyse_song(AUDIO, loaded, only_cached=True) is None  # nothing cached yet: it would compute
    assert extract_calls == []
    first = analyse_song(AUDIO, loaded)
    extract_calls.clear()
    assert analyse_song(AUDIO, loaded, only_cached=True).cached == tuple(QUICK)
    assert analyse_song(AUDIO, loaded, only_cached=True, smooth=True) is None  # smoothed: not cached
    second = analyse_song(AUDIO, loaded)
    assert second.cached == tuple(QUICK) and extract_calls == []  # no feature is extracted or even read
    for key in QUICK:
        assert_same(first.results[key], second.results[key])
    entries = sorted(analysis_cache_dir().rglob("*.npz"))
    assert len(entries) == len(QUICK) and analysis_cache_dir() == cache / "analyses"
    assert not list(analysis_cache_dir().rglob("*.tmp"))  # atomic writes leave no temp files
    # another song, or smoothing, is another entry
    smoothed = analyse_song(AUDIO, loaded, smooth=True)
    assert smoothed.cached == () and smoothed.results["mca"].smoothed
    assert not np.allclose(smoothed.results["mca"].predictions["valence"], first.results["mca"].predictions["valence"])
    other = analyse_song(bench_audio(duration_s=4.0, seed=5), {"at": loaded["at"]})
    assert other.cached == ()


def test_a_damaged_cache_entry_is_recomputed(loaded, cache):
    first = analyse_song(AUDIO, {"at": loaded["at"], "vggish_sa3": loaded["vggish_sa3"]})
    entries = sorted(analysis_cache_dir().rglob("*.npz"))
    assert len(entries) == 2
    entries[0].write_bytes(b"not an npz file")
    entries[1].write_bytes(entries[1].read_bytes()[:200])  # truncated
    with pytest.warns(CacheWarning, match="damaged"):
        again = analyse_song(AUDIO, {"at": loaded["at"], "vggish_sa3": loaded["vggish_sa3"]})
    assert again.cached == () and not again.problems
    for key in again.results:
        assert_same(first.results[key], again.results[key])
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # rewritten: read back cleanly
        assert analyse_song(AUDIO, {"at": loaded["at"], "vggish_sa3": loaded["vggish_sa3"]}).cached == (
            "at", "vggish_sa3")


def test_a_failing_checkpoint_is_reported_and_the_others_run(loaded, cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shapes do not fit")

    monkeypatch.setattr(loaded["at"].model, "forward", broken)
    result = analyse_song(AUDIO, loaded)
    assert set(result.problems) == {"at"} and "RuntimeError: shapes do not fit" in result.problems["at"]
    assert list(result.results) == ["mca", "at_chroma", "vggish_sa3"]
    assert len(list(analysis_cache_dir().rglob("*.npz"))) == 3  # a failure is not cached

    # a feature set that fails takes down only the checkpoints that use it
    real = features_module.extract

    def failing(audio, name, **kwargs):
        if name == "chroma":
            raise FeatureError("chroma failed on this audio")
        return real(audio, name, **kwargs)

    monkeypatch.setattr(analysis_module, "extract", failing)
    song = bench_audio(duration_s=3.0)
    result = analyse_song(song, {"at_chroma": loaded["at_chroma"], "mca": loaded["mca"], "plain": "not loaded"})
    assert "chroma failed on this audio" in result.problems["at_chroma"]
    assert "not a loaded checkpoint" in result.problems["plain"]
    assert list(result.results) == ["mca"]


def test_an_error_outside_one_extraction_fails_its_sets_instead_of_hanging(loaded, cache, monkeypatch):
    """A feature cache folder that cannot be searched (PermissionError) once froze analyse_song for ever."""
    import threading

    import memo_core.features.cache as feature_cache

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/cache")

    monkeypatch.setattr(feature_cache, "cache_path", unreadable)
    finished = {}
    worker = threading.Thread(target=lambda: finished.setdefault("result", analyse_song(bench_audio(duration_s=2.0),
                                                                                          loaded)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert "result" in finished, "analyse_song did not return"
    result = finished["result"]
    assert not result.results and set(result.problems) == set(loaded)
    assert all("Permission denied" in why for why in result.problems.values())


def test_progress_reports_every_step_in_order(loaded, cache):
    calls = []
    analyse_song(AUDIO, loaded, progress=lambda *call: calls.append(call))
    total = 3 + len(QUICK)  # three feature sets, one step a checkpoint
    assert calls[0] == ("start", 0, total)
    assert [c[1] for c in calls[1:]] == list(range(1, total + 1)) and all(c[2] == total for c in calls)
    labels = [c[0] for c in calls[1:]]
    assert sorted(labels) == sorted([f"features {f}" for f in ("deam260", "chroma", "mel96")] +
                                    [f"model {k}" for k in QUICK])
    for key in QUICK:  # a model runs once its features are there
        feature_name = SET[key][2]
        assert labels.index(f"model {key}") > labels.index(f"features {feature_name}")
    calls.clear()
    analyse_song(AUDIO, loaded, progress=lambda *call: calls.append(call))
    assert [c[0] for c in calls] == ["start"] + [f"model {k}" for k in QUICK]  # cached: nothing to extract


def test_bad_audio_and_no_checkpoints_raise_clear_errors(loaded, cache, tmp_path):
    with pytest.raises(AudioError, match="not a readable audio file"):
        analyse_song(b"this is not audio", loaded)
    with pytest.raises(AudioError, match="does not exist"):
        analyse_song(tmp_path / "missing.wav", loaded)
    with pytest.raises(AudioError, match="needs an Audio"):
        analyse_song(np.zeros(100), loaded)
    with pytest.raises(MemoError, match="at least one checkpoint"):
        analyse_song(AUDIO, {})


def test_without_the_cache_nothing_is_written(loaded, cache):
    result = analyse_song(AUDIO, {"at": loaded["at"]}, cache=False)
    assert "at" in result.results and not cache.exists()


def test_fingerprint_from_the_manifest_else_from_the_weights(loaded):
    ckpt = loaded["at"]
    assert checkpoint_fingerprint(ckpt) == "file:" + ckpt.info["manifest"]["sha256"]
    del ckpt.info["manifest"]
    state = checkpoint_fingerprint(ckpt)
    assert state.startswith("state:") and checkpoint_fingerprint(ckpt) == state
    with torch.no_grad():
        next(ckpt.model.parameters()).add_(1e-3)
    assert checkpoint_fingerprint(ckpt) != state


def test_features_extracted_side_by_side_equal_features_extracted_alone(tmp_path, cache, monkeypatch):
    """The two openSMILE sets come from one shared pass; each must equal what it gives alone."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ckpts, _ = load_default_checkpoints(make_checkpoint_set(tmp_path / "set", keys=("mca", "at_compare6373")))
    seen = {}
    real = features_module.extract

    def recording(audio, name, **kwargs):
        seen[name] = real(audio, name, **kwargs)
        return seen[name]

    monkeypatch.setattr(analysis_module, "extract", recording)
    result = analyse_song(AUDIO, ckpts, workers=2)
    assert not result.problems and sorted(seen) == ["compare6373", "deam260"]
    for name, values in seen.items():
        np.testing.assert_array_equal(values, get_extractor(name).compute(AUDIO))


def test_a_combined_set_is_joined_from_its_parts_extracted_once_each(tmp_path, cache, monkeypatch):
    """deam260_tonal = deam260 + tonal + loudness: each part extracted once (deam260 shared with mca), the
    combination equal to the set extracted alone, and with the cache off nothing is written."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ckpts, _ = load_default_checkpoints(make_checkpoint_set(tmp_path / "set", keys=("mca", "at_tonal")))
    seen = []
    real = features_module.extract

    def recording(audio, name, **kwargs):
        seen.append(name)
        return real(audio, name, **kwargs)

    monkeypatch.setattr(analysis_module, "extract", recording)
    steps = []
    result = analyse_song(AUDIO, ckpts, cache=False, workers=2, progress=lambda step, done, total: steps.append(step))
    assert not result.problems, result.problems
    assert sorted(seen) == ["deam260", "loudness", "tonal"]  # the combination itself is never extracted
    assert "features deam260_tonal" in steps and steps[-1].startswith("model")
    assert not cache.exists()
    alone = explain_song(ckpts["at_tonal"], AUDIO)
    assert_same(result.results["at_tonal"], alone, exact=False)
