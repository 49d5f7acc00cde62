"""The smoke test over the whole shipped set: every checkpoint in checkpoints/ loads, analyses a corpus song and an
upload, and every page draws with all of them.

The other dashboard tests run against a few checkpoints each (``CHECKPOINT_KEYS``, tests/dashboard/conftest.py),
so this is where all of them meet the app; tests/test_shipped_checkpoints.py checks their predictions.
"""

from __future__ import annotations

import json

from tests._helpers import REPO
from tests.dashboard._helpers import open_page, song_wav, upload

#: All of the shipped checkpoints/ (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = None

PAGES = sorted(p.stem for p in (REPO / "dashboard" / "app_pages").glob("*.py"))


def _analysis(app):
    """The analysis the page's song got (from the dashboard's in-process store, newest last: an earlier test of
    this process may have left the same song analysed by another checkpoint set)."""
    from dashboard import resources

    source = app.session_state["memo_selection"].source
    return next(a for (_, key, _), a in reversed(resources._analyses()[0].items()) if key == source.key)


def test_every_shipped_checkpoint_analyses_a_song_and_an_upload_on_every_page(corpus_env):
    shipped = [e["key"] for e in json.loads((REPO / "checkpoints" / "manifest.json").read_text())["checkpoints"]]
    assert len(shipped) >= 20
    app = open_page()
    assert not app.exception and not app.error
    assert not [e.label for e in app.sidebar.expander if "could not be loaded" in e.label]
    for source in ("song 1", "an upload"):
        if source == "an upload":
            upload(app, "every checkpoint.wav", song_wav(6.0))
            assert not app.exception and not app.error
        assert (app.session_state["memo_selection"].source.kind == "upload") == (source == "an upload")
        analysis = _analysis(app)
        assert set(analysis.results) == set(shipped) and not analysis.problems, (source, analysis.problems)
        for page in PAGES:
            app.switch_page(f"app_pages/{page}.py").run()
            assert not app.exception, (source, page, app.exception)
        app.switch_page("app_pages/song.py").run()
