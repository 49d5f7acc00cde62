"""The on-disk cache: hits, misses, corrupt entries, unwritable folders."""

from __future__ import annotations

import numpy as np
import pytest

from memo_core.audio import Audio
from memo_core.features import CacheWarning, extract, get_extractor
from memo_core.features import cache as cache_mod
from memo_core.features.librosa_sets import Chroma, clear_intermediates

SR = 44_100


@pytest.fixture()
def audio() -> Audio:
    rng = np.random.default_rng(1)
    return Audio((0.2 * rng.standard_normal(2 * SR)).astype(np.float32), SR, "noise")


@pytest.fixture()
def calls(monkeypatch, tmp_path):
    """Count Chroma.compute calls, in a private cache folder."""
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "cache"))
    counter = {"n": 0}
    original = Chroma.compute

    def counting(self, audio):
        counter["n"] += 1
        return original(self, audio)

    monkeypatch.setattr(Chroma, "compute", counting)
    clear_intermediates()
    return counter


def test_cache_hit_is_identical_and_not_recomputed(audio, calls, tmp_path):
    first = extract(audio, "chroma")
    second = extract(audio, "chroma")
    assert calls["n"] == 1
    assert np.array_equal(first, second) and second.dtype == np.float32
    path = cache_mod.cache_path(audio, get_extractor("chroma"))
    assert path.is_file() and str(path).startswith(str(tmp_path / "cache"))
    assert not list(path.parent.glob("*.tmp"))  # the temp file was renamed away


def test_cache_false_always_computes(audio, calls):
    extract(audio, "chroma", cache=False)
    extract(audio, "chroma", cache=False)
    assert calls["n"] == 2
    assert not cache_mod.cache_path(audio, get_extractor("chroma")).exists()


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda p: p.write_bytes(b"not a numpy file"),
        lambda p: p.write_bytes(p.read_bytes()[:60]),  # truncated
        lambda p: np.save(p, np.zeros((3, 24), dtype=np.float32)),  # wrong number of frames (4 expected)
        lambda p: np.save(p, np.zeros((4, 7), dtype=np.float32)),  # wrong number of features
        lambda p: np.save(p, np.zeros((4, 24), dtype=np.float64)),  # wrong dtype
        lambda p: np.save(p, np.full((4, 24), np.nan, dtype=np.float32)),
    ],
)
def test_corrupt_entry_is_recomputed_and_overwritten(audio, calls, corrupt):
    good = extract(audio, "chroma")
    path = cache_mod.cache_path(audio, get_extractor("chroma"))
    corrupt(path)
    with pytest.warns(CacheWarning, match="is damaged .*; recomputing it"):
        again = extract(audio, "chroma")
    assert calls["n"] == 2
    assert np.array_equal(good, again)
    assert np.array_equal(np.load(path), good)  # overwritten with the good values
    extract(audio, "chroma")
    assert calls["n"] == 2


def test_key_depends_on_params_audio_and_version(audio, calls, monkeypatch):
    base = cache_mod.cache_key(audio, get_extractor("chroma"))
    assert cache_mod.cache_key(audio, get_extractor("chroma", n_fft=1024)) != base
    other = Audio(audio.samples * 0.5, SR, "quieter")
    assert cache_mod.cache_key(other, get_extractor("chroma")) != base
    assert cache_mod.cache_key(Audio(audio.samples.copy(), SR, "renamed"), get_extractor("chroma")) == base
    # different params are cached separately and both computed
    extract(audio, "chroma")
    extract(audio, "chroma", n_fft=1024)
    assert calls["n"] == 2
    monkeypatch.setattr("memo_core.features.base.FEATURES_VERSION", "test-bump")
    assert cache_mod.cache_key(audio, get_extractor("chroma")) != base


def test_unwritable_cache_warns_but_returns_features(audio, calls, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    # A folder under a regular file cannot be created, even by root.
    monkeypatch.setenv("MEMO_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(CacheWarning, match="Could not write the feature cache"):
        values = extract(audio, "chroma")
    assert values.shape == (4, 24) and np.all(np.isfinite(values))


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("MEMO_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_mod.cache_dir() == tmp_path / ".cache" / "memo" / "features"


def test_key_covers_scipy(audio, monkeypatch):
    """scipy's filters and FFTs feed librosa's numerics, so its version is part of the key."""
    from memo_core.features import base

    assert "scipy" in base.library_versions()
    before = cache_mod.cache_key(audio, get_extractor("chroma"))
    real = base.importlib.metadata.version
    monkeypatch.setattr(base.importlib.metadata, "version", lambda p: "0.0.0" if p == "scipy" else real(p))
    base._library_versions.cache_clear()  # versions are read once a process; a new process sees the new scipy
    try:
        assert base.library_versions()["scipy"] == "0.0.0"
        assert cache_mod.cache_key(audio, get_extractor("chroma")) != before
    finally:
        monkeypatch.undo()
        base._library_versions.cache_clear()
    assert cache_mod.cache_key(audio, get_extractor("chroma")) == before
