"""The one-page HTML report of a song's analysis (memo_core.explain.report)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from memo_core.explain.analysis import SongAnalysis
from memo_core.explain.explanation import SongExplanation
from memo_core.explain.report import checkpoint_notes, quadrant_words, song_report
from memo_core.explain.structure import SongStructure
from tests._helpers import validated_entry

T = np.arange(0, 20, 0.5)


def _analysis() -> SongAnalysis:
    happy = pd.DataFrame({"time_s": T, "valence": np.full(len(T), 0.5), "arousal": np.linspace(0.2, 0.6, len(T))})
    sad = pd.DataFrame({"time_s": T, "valence": np.r_[np.full(20, -0.6), np.full(20, -0.2)],
                        "arousal": np.full(len(T), -0.4)})
    tags = pd.DataFrame({"tag": ["happy"], "score": [0.9], "threshold": [0.5], "predicted": [True]})
    return SongAnalysis("x.wav", 20.0, "abc", results={
        "mca": SongExplanation("x.wav", happy, model_name="mca"),
        "at": SongExplanation("x.wav", sad, model_name="at"),
        "vggish": SongExplanation("x.wav", tags, model_name="vggish", task="tagging")})


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_the_report_has_the_song_models_curves_quadrant_and_sections():
    entries = [validated_entry("mca", training_data="MEMO synthetic corpus (150 songs)"),
               {"key": "at", "model": "at", "training_data": "MEMO synthetic corpus"}]
    structure = SongStructure(20.0, 118.0, np.arange(0, 20, 0.5), np.zeros(0), np.zeros(0), np.array([10.0]))
    truth = {"time_s": T, "valence": np.full(len(T), 0.4), "arousal": np.zeros(len(T))}
    page = song_report(_analysis(), song="My <b>song</b>.wav", title="Handout", entries=entries, truth=truth,
                       truth_label="design", structure=structure, created="2024-05-01")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<h1>Handout</h1>" in page and "My &lt;b&gt;song&lt;/b&gt;.wav" in page and "2024-05-01" in page
    # the models: each per-frame checkpoint with its trust level and training data; the tagger is left out
    assert "<td>mca</td>" in page and "<td>at</td>" in page and "vggish" not in page
    assert re.search(r"<td>good: real music[^<]*</td>", page)
    assert "<td>unvalidated</td>" in page and "MEMO synthetic corpus (150 songs)" in page
    assert "learned from rendered music" in page  # a note because one model is not validated
    # the curves: one chart per target, a line per curve (the design and two models), the section start drawn
    tags = _Tags()
    tags.feed(page)
    assert tags.tags.count("svg") == 3 and tags.tags.count("polyline") == 6 and tags.tags.count("circle") == 3
    assert page.count('stroke="#8e0152"') == 2  # one section line on each target's chart
    # the quadrant: the means, called only when clearly inside
    assert "happy / excited" in page and "sad / depressed" in page
    assert "pleasant, arousal near neutral" in page  # the design: valence 0.4, arousal 0
    # the sections: two, with each curve's mean in each
    assert "1 (0:00-0:10)" in page and "2 (0:10-0:20)" in page
    assert page.count("<td>at</td>") == 3  # key and model in the models table, then the quadrant table
    assert "<th>section</th><th>design</th><th>mca</th><th>at</th>" in page  # one column per curve
    assert "<td>1 (0:00-0:10)</td><td>+0.40 / +0.00</td><td>+0.50 / +0.30</td><td>-0.60 / -0.40</td>" in page
    assert "<td>-0.20 / -0.40</td>" in page
    assert "about 118 bpm" in page


def test_the_report_without_structure_or_truth_and_with_chosen_checkpoints():
    page = song_report(_analysis(), checkpoints=["at"])
    assert "x.wav" in page and "<td>at</td>" in page and "<td>mca</td>" not in page
    assert "No section analysis." in page and "<td>unknown</td>" in page
    # one shared training source is said once, under the table
    same = [{"key": k, "training_data": "MEMO synthetic corpus"} for k in ("mca", "at")]
    page = song_report(_analysis(), entries=same)
    assert "<th>trained on</th>" not in page and "<b>All trained on:</b> MEMO synthetic corpus" in page
    assert song_report(_analysis(), checkpoints=[]).count("No valence/arousal model") == 1


def test_quadrant_words_and_checkpoint_notes():
    assert quadrant_words(0.5, 0.5) == "happy / excited" and quadrant_words(-0.3, -0.4) == "sad / depressed"
    assert quadrant_words(0.02, -0.05) == "near the centre (no clear quadrant)"
    assert quadrant_words(0.05, 0.6) == "energetic, valence near neutral"
    assert quadrant_words(float("nan"), 0.1) == "n/a"
    notes = checkpoint_notes([validated_entry("mca"), {"key": "x"}, "not an entry"])
    assert notes["mca"].trust == "good" and notes["x"].trust == "unvalidated" and len(notes) == 2


@pytest.mark.parametrize("name, escaped", [("a & b", "a &amp; b"),
                                           ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")])
def test_names_are_escaped(name, escaped):
    page = song_report(_analysis(), song=name)
    assert escaped in page and name not in page
