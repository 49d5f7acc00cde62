"""Shared fixtures: where the real dataset fixtures are, a private feature cache, test audio."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real dataset fixtures in ../shared/data; the test is skipped when they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (as on a user's machine)")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Keep the tests' feature cache out of the user's cache."""
    old = os.environ.get("MEMO_CACHE_DIR")
    os.environ["MEMO_CACHE_DIR"] = str(tmp_path_factory.mktemp("memo-cache"))
    yield
    if old is None:
        os.environ.pop("MEMO_CACHE_DIR", None)
    else:
        os.environ["MEMO_CACHE_DIR"] = old


def make_tone(seconds: float, sample_rate: int = 22_050, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """A sine with a little noise, for tests that need real-ish audio. [shape=(n, channels)]"""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = 0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A 4-song, 20 s synthetic corpus rendered once per test session."""
    from memo_core.data.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("corpus") / "tiny", n_songs=4, seed=7, duration_s=20.0,
                           workers=1, progress=False)
