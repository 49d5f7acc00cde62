"""Shared fixtures: where the real dataset fixtures are, a private feature cache, test audio."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._helpers import SHARED_DATA


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




@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A 4-song, 20 s synthetic corpus rendered once per test session."""
    from memo_core.data.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("corpus") / "tiny", n_songs=4, seed=7, duration_s=20.0,
                           workers=1, progress=False)


# --------------------------------------------------------------------------- manifest entries, validated






