"""The trust cues beside every prediction: what the checkpoints learned from and how they did on real recordings,
the silence and outside-the-training-data bands (flagged for silence and for a pure tone, not for a corpus song),
the Mood page's tag contrast, and the first-run message shown once.

These tests use a small set of shipped checkpoints (AT, BAT and the Transformer share one feature set; one
tagger), with their manifest entries, so the analysis of each upload is quick and the references are the
shipped ones."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from dashboard.plots.bands import OUTSIDE_NAME, SILENCE_NAME
from dashboard.plots.mood import SONG_SCORE
from dashboard.trust_cues import LEARNED_FROM, ON_REAL
from tests.dashboard._helpers import charts_by_key, open_page, song_wav, texts, upload

SMALL_SET = ("at", "bat", "transformer", "vggish_sa3")


@pytest.fixture
def small_set(checkpoint_subsets, corpus_env, monkeypatch):
    """The app on the tiny corpus with the small set of shipped checkpoints."""
    folder = checkpoint_subsets(SMALL_SET)
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))
    return folder


def _tone(seconds: float = 6.0, sample_rate: int = 22_050) -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), sample_rate, format="WAV")
    return buf.getvalue()


def _bands(spec: dict) -> set[str]:
    return {s.get("name") for s in spec["layout"].get("shapes", [])} & {SILENCE_NAME, OUTSIDE_NAME}


def test_a_corpus_song_is_within_what_the_models_know(small_set):
    app = open_page("attention")
    assert not app.exception
    charts = charts_by_key(app)
    assert not _bands(charts["attention_top"]) and not _bands(charts["attention_row"])
    page = texts(app)
    # beside the prediction: what the checkpoint learned from and how it did on real recordings
    assert f"**{LEARNED_FROM}**: synthetic songs rendered from MIDI (106 songs; dynamic valence/arousal curves) + " \
           "4Q real 30 s clips (263 songs; clip-level signs of valence/arousal)." in page
    from memo_core.explain.trust import trust_brief

    entry = next(e for e in json.loads((small_set / "manifest.json").read_text())["checkpoints"] if e["key"] == "at")
    assert f"**{ON_REAL}**: at {trust_brief(entry)}." in page
    assert "4Q arousal AUC 0.92, valence AUC 0.78 on 88 held-out clips; r with listeners A 0.71" in trust_brief(entry)
    assert "Within what the models know" in page
    assert "Silent" not in page and "Outside what the models know" not in page
    # the same on the Mood page, beside the tags
    app.switch_page("app_pages/mood.py").run()
    assert not app.exception
    assert "Within what the models know" in texts(app) and not _bands(charts_by_key(app)["mood_windows"])


def test_silence_and_a_pure_tone_are_flagged_on_the_time_axis(small_set):
    app = upload(open_page("attention"), "silence.wav", song_wav(6.0, silent=True))
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "Silent or near-silent song" in warnings and "says nothing about the song" in warnings
    assert SILENCE_NAME in _bands(charts_by_key(app)["attention_top"])
    assert SILENCE_NAME in {d.get("name") for d in charts_by_key(app)["attention_top"]["data"]}  # in the legend

    upload(app, "tone.wav", _tone())
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "Outside what the models know" in warnings and "**at**" in warnings
    assert "of its training frames stay at or below 1.55" in warnings  # the shipped reference, measured
    assert "Silent" not in warnings
    charts = charts_by_key(app)
    assert _bands(charts["attention_top"]) == {OUTSIDE_NAME} and _bands(charts["attention_row"]) == {OUTSIDE_NAME}
    # the tagger's page flags it too, and says its tags do not set the tone apart from most songs
    app.switch_page("app_pages/mood.py").run()
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "Outside what the models know" in warnings and "**vggish_sa3**" in warnings
    assert OUTSIDE_NAME in _bands(charts_by_key(app)["mood_windows"])


def test_the_mood_page_sets_the_songs_tags_against_real_songs(small_set):
    from memo_core.explain.trust import tag_spread_of

    app = open_page("mood")
    assert not app.exception
    spread = charts_by_key(app)["mood_spread"]
    diamonds = [d for d in spread["data"] if d.get("name") == SONG_SCORE]
    assert len(diamonds) == 1 and diamonds[0]["marker"]["symbol"] == "diamond"
    # the contrast table: this song's predicted tags, each against the real songs' mean and spread
    entry = next(e for e in json.loads((small_set / "manifest.json").read_text())["checkpoints"]
                 if e["key"] == "vggish_sa3")
    table = next(d.value for d in app.dataframe if "contrast (sd)" in d.value.columns)
    assert set(table["tagger"]) == {"vggish_sa3"} and len(table) >= 1
    figures = tag_spread_of(entry).table.set_index("tag")
    for row in table.to_dict("records"):
        expected = (row["score"] - figures.loc[row["tag"], "mean"]) / figures.loc[row["tag"], "std"]
        assert row["contrast (sd)"] == pytest.approx(expected, rel=1e-6)
    assert set(table["reading"]) <= {"higher than on most songs", "lower than on most songs", "as on most songs"}
    # silence: its tags are what the tagger gives most songs, and the page says so
    upload(app, "silence.wav", song_wav(6.0, silent=True))
    assert not app.exception
    warnings = " ".join(w.value for w in app.warning)
    assert "The taggers cannot tell this song apart from most songs" in warnings
    assert "Silent or near-silent song" in warnings


def test_the_first_run_message_is_shown_once_and_a_bad_folder_once_as_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tmp_path / "nothing-yet"))
    monkeypatch.delenv("MEMO_DATASET_ROOTS", raising=False)
    app = open_page()
    assert not app.exception
    everything = [e.value for kind in ("info", "warning", "error", "markdown", "caption") for e in app.get(kind)]
    found = [text for text in everything if "not rendered yet" in text]
    assert len(found) == 1 and found[0] in [i.value for i in app.main.info]  # once, on the page
    assert "**Render the demo corpus** button in the sidebar" in found[0] and "button above" not in found[0]
    assert app.sidebar.button(key="memo_render_corpus").label == "Render the demo corpus"
    # a folder that is not the dataset: one error, not blue boxes
    app.sidebar.selectbox(key="memo_dataset").select("deam").run()
    assert sum("Type the folder" in t for t in texts(app).split("\n")) == 1
    app.sidebar.text_input(key="memo_root_deam").input(str(tmp_path)).run()
    assert not app.exception
    errors = [e.value for e in app.error if "cannot be opened as deam" in e.value]
    assert len(errors) == 1
    assert not [i.value for i in app.info if "cannot be opened" in i.value]
    assert sum("cannot be opened as deam" in str(e.value) for kind in ("info", "warning", "error")
               for e in app.get(kind)) == 1
