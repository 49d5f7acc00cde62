"""Shared fixtures: where the real dataset fixtures are, a private feature cache, test audio."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests._helpers import SHARED_DATA, TAGS_CORPUS, TINY_CORPUS


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
    """A 4-song, 20 s synthetic corpus (:data:`tests._helpers.TINY_CORPUS`) rendered once per test session.

    Rendered in this process (``workers=1``): tests/data/test_synth.py compares it with a two-worker render."""
    from memo_core.data.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("corpus") / "tiny", **TINY_CORPUS, workers=1, progress=False)


@pytest.fixture(scope="session")
def tags_corpus(tmp_path_factory) -> Path:
    """A 12-song, 16 s synthetic corpus (:data:`tests._helpers.TAGS_CORPUS`; train 8 / validation 2 / test 2),
    rendered once per test session: enough test and validation songs for some tags to have both classes, and
    for a 4-fold cross-validation. Shared by the command-line and reproduction tests; treat it as read-only."""
    from memo_core.data.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("corpus") / "tags", **TAGS_CORPUS, workers=2, progress=False)


@pytest.fixture(scope="session")
def two_song_corpus(tmp_path_factory) -> Path:
    """A corpus too small to train, validate and test on: the tiny corpus's first two songs (same seed and
    length, so the same audio), rendered once per test session."""
    from memo_core.data.synth import generate_corpus

    return generate_corpus(tmp_path_factory.mktemp("corpus") / "two", **{**TINY_CORPUS, "n_songs": 2}, workers=1,
                           progress=False)


@pytest.fixture(scope="session")
def dask_client():
    """A dask.distributed Client on a LocalCluster of 2 worker processes (one thread each), started once per
    session for the library tests; on teardown the cluster is closed and its processes must be gone."""
    import psutil

    from memo_core.experiments.library.analyse import local_cluster

    me = psutil.Process()
    before = {c.pid for c in me.children(recursive=True)}
    from distributed import Client

    cluster = local_cluster(2)
    client = Client(cluster)
    # the workers (multiprocessing's resource tracker, started with them, lives as long as this process)
    started = [c for c in me.children(recursive=True)
               if c.pid not in before and "resource_tracker" not in " ".join(c.cmdline())]
    port = int(cluster.scheduler_address.rsplit(":", 1)[1])
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        _, alive = psutil.wait_procs(started, timeout=10)
        assert not alive, f"dask worker processes left running: {[p.pid for p in alive]}"
        listening = [c for c in me.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert not listening, f"the dask scheduler still listens on port {port}"


# --------------------------------------------------------------------------- manifest entries, validated






