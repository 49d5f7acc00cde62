"""How many analyses one served app runs at once: a small first-come, first-served pool of slots.

Every session of a Streamlit server runs in the same process, so analyses started by many users at once add up
their memory (each takes several hundred MB, see the README's *Serving MEMO: faults and abuse*). Song analyses,
the deletion tests of maps and the Compare page's experiment each take one slot of :class:`AnalysisSlots`; a
session that finds every slot taken waits, in order of arrival, and is told its place in the queue.

The number of slots is ``$MEMO_MAX_ANALYSES``, else ``max_analyses`` in ``.streamlit/memo.toml``, else
:data:`DEFAULT_MAX_ANALYSES` (read once, when the server starts its first analysis).
"""

from __future__ import annotations

import os
import threading
import tomllib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["AnalysisSlots", "analysis_limit", "queue_message", "DEFAULT_MAX_ANALYSES", "MAX_ANALYSES_ENV"]

MAX_ANALYSES_ENV = "MEMO_MAX_ANALYSES"
#: Two at once: a short song need not wait for a long one, and memory stays at about twice one analysis.
DEFAULT_MAX_ANALYSES = 2
#: More than this is refused as a setting: each analysis needs hundreds of MB.
_MOST = 64


def analysis_limit(settings_file: Path) -> tuple[int, str | None]:
    """``(slots, problem)``: the configured number of concurrent analyses, and why the setting was not used
    (``None`` when it was, or when none is set). A bad value falls back to one slot, the safe choice."""
    raw: object = os.environ.get(MAX_ANALYSES_ENV)
    where = f"${MAX_ANALYSES_ENV}"
    if raw is None:
        where = f"max_analyses in {settings_file}"
        try:
            raw = tomllib.loads(settings_file.read_text(encoding="utf-8")).get("max_analyses")
        except FileNotFoundError:
            raw = None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            raw = None   # the roots setting already reports an unreadable file
    if raw is None:
        return DEFAULT_MAX_ANALYSES, None
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None or not 1 <= value <= _MOST:
        return 1, (f"{where} is {raw!r}, not a whole number from 1 to {_MOST}; "
                   "the app runs one analysis at a time.")
    return value, None


def queue_message(what: str, position: int, running: int, limit: int) -> str:
    """What a waiting session is told: ``what`` (e.g. "This song's analysis") waits, at ``position`` (1: next)."""
    ahead = "next in line" if position == 1 else f"number {position} in the queue"
    return (f"⏳ This server is busy: {running} of its {limit} analysis slot(s) are in use. {what} is {ahead} "
            "and starts by itself; keep this page open.")


class AnalysisSlots:
    """At most ``limit`` holders at once; the others wait first come, first served.

    ``with slots.slot(on_wait): ...`` runs the block in a slot. While it waits, ``on_wait(position, running)``
    is called about every ``poll_s`` seconds (position 1: next in line), outside the lock, so it may draw on a
    page, and any exception it raises (Streamlit stopping or rerunning the session) leaves the queue cleanly.
    """

    def __init__(self, limit: int, *, poll_s: float = 0.5) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = int(limit)
        self._poll_s = poll_s
        self._changed = threading.Condition()
        self._running = 0
        self._queue: deque[object] = deque()

    @property
    def running(self) -> int:
        """Slots in use now."""
        with self._changed:
            return self._running

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        with self._changed:
            return len(self._queue)

    @contextmanager
    def slot(self, on_wait: Callable[[int, int], None] | None = None) -> Iterator[None]:
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
        try:
            while True:
                with self._changed:
                    if self._queue[0] is ticket and self._running < self.limit:
                        self._queue.popleft()
                        self._running += 1
                        break
                    position, running = self._queue.index(ticket) + 1, self._running
                if on_wait is not None:
                    on_wait(position, running)
                with self._changed:
                    if not (self._queue[0] is ticket and self._running < self.limit):
                        self._changed.wait(self._poll_s)
        except BaseException:
            with self._changed:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._changed.notify_all()
            raise
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()
