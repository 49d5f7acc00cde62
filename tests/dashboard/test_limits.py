"""The served app's analysis slots: real threads, real analyses, the setting and the waiting message."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from dashboard.limits import DEFAULT_MAX_ANALYSES, MAX_ANALYSES_ENV, AnalysisSlots, analysis_limit, queue_message
from tests.dashboard._helpers import song_wav


def _hold_together(slots: AnalysisSlots, n: int, hold_s: float = 0.3) -> list[tuple[float, float]]:
    """``n`` threads each hold a slot for ``hold_s``; their (enter, exit) times."""
    spans: list[tuple[float, float]] = []
    start = threading.Barrier(n)

    def work() -> None:
        start.wait()
        with slots.slot():
            entered = time.monotonic()
            time.sleep(hold_s)
            spans.append((entered, time.monotonic()))

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return sorted(spans)


def _overlap(spans: list[tuple[float, float]]) -> bool:
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def test_one_slot_never_overlaps_and_two_do():
    one = _hold_together(AnalysisSlots(1, poll_s=0.05), 3)
    assert len(one) == 3 and not _overlap(one)
    two = _hold_together(AnalysisSlots(2, poll_s=0.05), 2)
    assert len(two) == 2 and _overlap(two)   # the overlap check sees overlap when it happens


def test_waiters_are_told_their_place_and_served_in_order():
    slots = AnalysisSlots(1, poll_s=0.02)
    seen: dict[str, set[int]] = {"b": set(), "c": set()}
    order: list[str] = []
    release = threading.Event()

    def holder() -> None:
        with slots.slot():
            order.append("a")
            release.wait(10)

    def waiter(name: str) -> None:
        with slots.slot(lambda position, running: seen[name].add(position)):
            order.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    while slots.running == 0:
        time.sleep(0.01)
    for name in ("b", "c"):
        threads.append(threading.Thread(target=waiter, args=(name,)))
        threads[-1].start()
        while slots.waiting < len(threads) - 1:
            time.sleep(0.01)
    time.sleep(0.1)
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["a", "b", "c"]
    assert seen["b"] == {1} and 2 in seen["c"]
    assert slots.running == 0 and slots.waiting == 0


def test_a_session_that_leaves_while_waiting_leaves_the_queue():
    """Streamlit stops a session's script by raising in it (here: from the waiting callback); the queue moves on."""
    slots = AnalysisSlots(1, poll_s=0.02)
    ran = threading.Event()

    class Stopped(Exception):
        pass

    def leave(position: int, running: int) -> None:
        raise Stopped

    with slots.slot():
        with pytest.raises(Stopped):
            with slots.slot(leave):
                pytest.fail("ran without a free slot")
        assert slots.waiting == 0
    with slots.slot():
        ran.set()
    assert ran.is_set() and slots.running == 0


def test_the_setting_from_the_environment_or_the_settings_file(tmp_path, monkeypatch):
    conf = tmp_path / "memo.toml"
    monkeypatch.delenv(MAX_ANALYSES_ENV, raising=False)
    assert analysis_limit(conf) == (DEFAULT_MAX_ANALYSES, None)
    conf.write_text('restrict = true\ndataset_roots = []\nmax_analyses = 3\n')
    assert analysis_limit(conf) == (3, None)
    monkeypatch.setenv(MAX_ANALYSES_ENV, "1")
    assert analysis_limit(conf) == (1, None)
    for bad in ("0", "two", "1e9", "-1", "nan"):
        monkeypatch.setenv(MAX_ANALYSES_ENV, bad)
        value, problem = analysis_limit(conf)
        assert value == 1 and f"$MEMO_MAX_ANALYSES is {bad!r}" in problem and "one analysis at a time" in problem
    monkeypatch.delenv(MAX_ANALYSES_ENV)
    conf.write_text("max_analyses = true\n")
    value, problem = analysis_limit(conf)
    assert value == 1 and "max_analyses in" in problem


def test_a_bad_setting_is_shown_with_the_other_serving_problems(tmp_path, monkeypatch):
    from dashboard import resources

    monkeypatch.delenv("MEMO_DATASET_ROOTS", raising=False)
    monkeypatch.setattr(resources, "_SETTINGS_FILE", tmp_path / "memo.toml")
    monkeypatch.setenv(MAX_ANALYSES_ENV, "lots")
    assert any("not a whole number" in p for p in resources.settings().problems)


def test_the_waiting_message_gives_the_place():
    assert "is next in line" in queue_message("This song's analysis", 1, 2, 2)
    text = queue_message("This comparison", 3, 1, 1)
    assert "1 of its 1 analysis slot(s) are in use" in text and "This comparison is number 3 in the queue" in text


def test_two_real_analyses_with_one_slot_run_one_after_the_other(checkpoint_subsets, monkeypatch):
    """The app's own analyse(), two songs from two threads (two sessions) at once: with MEMO_MAX_ANALYSES=1 the
    second starts (its first progress call) only after the first has finished (its last)."""
    from dashboard import resources

    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(checkpoint_subsets(("mca",))))
    monkeypatch.setenv(MAX_ANALYSES_ENV, "1")
    resources._slots.clear()
    resources._analyses.clear()
    try:
        songs = [resources.load_audio(song_wav(3.0 + i), name=f"s{i}.wav") for i in range(2)]
        keys = tuple(resources.checkpoints()[0])
        spans: dict[int, list[float]] = {0: [], 1: []}
        start, failures = threading.Barrier(2), []

        def session(i: int) -> None:
            try:
                start.wait()
                resources.analyse(f"song-{i}", songs[i], keys, lambda *_: spans[i].append(time.monotonic()),
                                  on_disk=False)
            except Exception as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=session, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not failures and all(len(s) >= 2 for s in spans.values())
        first, second = sorted(spans.values())
        assert second[0] >= first[-1]
        assert resources._slots().limit == 1 and resources._slots().running == 0
    finally:
        resources._slots.clear()
        resources._analyses.clear()


def test_a_song_whose_results_are_on_disk_does_not_wait_for_a_slot(checkpoint_subsets, monkeypatch, tmp_path):
    """The slots bound computing: a song every result of which is in the disk cache is read while another
    session holds the only slot (it used to queue behind it)."""
    from dashboard import resources

    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(checkpoint_subsets(("mca",))))
    monkeypatch.setenv("MEMO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(MAX_ANALYSES_ENV, "1")
    resources._slots.clear()
    resources._analyses.clear()
    try:
        song = resources.load_audio(song_wav(3.0), name="s.wav")
        keys = tuple(resources.checkpoints()[0])
        first = resources.analyse("song", song, keys)  # computed, written to the disk cache
        resources._analyses.clear()  # a new server process: only the disk cache knows the song
        held, release, done = threading.Event(), threading.Event(), []

        def other_session() -> None:
            with resources._slots().slot():
                held.set()
                release.wait(60)

        holder = threading.Thread(target=other_session)
        holder.start()
        try:
            assert held.wait(10)
            reader = threading.Thread(target=lambda: done.append(resources.analyse("song", song, keys)))
            reader.start()
            reader.join(30)
            assert done, "the cached song waited for the slot another session holds"
            assert done[0].cached == keys and resources._slots().running == 1
            pd.testing.assert_frame_equal(done[0].results["mca"].predictions, first.results["mca"].predictions)
        finally:
            release.set()
            holder.join(10)
    finally:
        resources._slots.clear()
        resources._analyses.clear()
