"""A half-second song (one frame) on every song page: no page may fail on it."""

from __future__ import annotations

import pytest

from tests.dashboard._helpers import open_page, song_wav, upload

#: Something to draw on every song page (tests/dashboard/conftest.py): each family with maps, one tagger.
CHECKPOINT_KEYS = ("mca", "mca_uniform", "dblstm_elm", "at", "bat", "transformer", "damff", "vggish_sa3")


@pytest.mark.parametrize("page", ["song", "attention", "multiscale", "damff", "mood"])
def test_a_sub_second_upload_renders_every_song_page(corpus_env, page):
    app = upload(open_page(page), "blip.wav", song_wav(0.5))
    assert not app.exception
    assert not [e.value for e in app.error]
    assert app.get("subheader") and any(s.value == "blip.wav" for s in app.get("subheader"))
