"""The About page, loaded on its own with AppTest: every family cited, with equations, cautions and a glossary."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests._helpers import REPO

PAGE = str(REPO / "dashboard" / "app_pages" / "about.py")

# One expander per family: a word of its label, then what its citation must name.
FAMILIES = {
    "MCA": ("Ye Ma", "2017", "Multi-scale Context Based Attention for Dynamic Music Emotion Prediction"),
    "DBLSTM-ELM": ("Xinxing Li", "2016", "ICASSP"),
    "AT and BAT": ("Sanga Chaki", "2020", "Explaining Perceived Emotion Predictions in Music"),
    "DAMFF": ("Liyue Zhang", "2023", "Dual Attention-based Multi-scale Feature Fusion"),
    "VGG-ish": ("Srividya Tirunellai Rajamani", "2020", "Emotion and Theme Recognition in Music"),
}


@pytest.fixture(scope="module")
def page():
    app = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not app.exception
    return app


def _text(element) -> str:
    return "\n".join(m.value for m in element.markdown)


@pytest.mark.parametrize("label", FAMILIES)
def test_each_family_cites_its_paper_and_shows_equations(page, label):
    matches = [e for e in page.expander if e.label.startswith(label)]
    assert len(matches) == 1, [e.label for e in page.expander]
    section = matches[0]
    author, year, title = FAMILIES[label]
    assert year in section.label
    text = _text(section)
    assert author in text and year in text and title in text
    assert len(section.latex) >= 3
    for heading in ("In plain words", "What the maps mean", "What to try in class"):
        assert heading in text


def test_the_defining_equations_are_shown(page):
    """The page shows each family's defining formulas (checked against the papers and docstrings when written;
    the models' own tests check the behaviour these formulas describe)."""
    latex = "\n".join(block.value for block in page.latex)
    assert r"\beta^i_t = \frac{\exp(e^i_t)}{\sum_{j=1}^{N} \exp(e^j_t)}" in latex  # MCA Eq. 16
    assert r"\beta = H^{+} T" in latex  # ELM readout
    assert r"j \in \{1, \dots, t-1\}" in latex  # BAT attends to the past only
    assert r"X' = \sigma\left(S \oplus C\right)" in latex  # SCAM gate, Eq. 3
    assert r"Z = X' \odot A + \left(1 - X'\right) \odot B" in latex  # DAFF fusion, Eq. 4
    assert r"\mathrm{clamp}(\alpha, 0.01, 0.99)" in latex  # AReLU


def test_names_every_explanation_map(page):
    text = "\n".join(m.value for m in page.markdown)
    for name in ("temporal_attention", "window_attention/L", "scale_weights", "scale_predictions",
                 "scale_shares", "layer_attention", "spatial_attention", "channel_attention",
                 "fusion_gate", "tag_windows", "tag_occlusion", "self_attention"):
        assert f"`{name}`" in text, name


def test_cautions_attention_and_synthetic_training(page):
    warning = "\n".join(w.value for w in page.warning)
    assert "Jain and Wallace" in warning and "Attention is not Explanation" in warning
    info = "\n".join(i.value for i in page.info)
    assert "synthetic corpus only" in info and "python -m memo_core train --help" in info


def test_glossary_and_scales(page):
    text = "\n".join(m.value for m in page.markdown)
    for metric in ("RMSE", "MAE", "PCC", "CCC", "R²", "Kendall's tau", "ROC-AUC", "PR-AUC"):
        assert f"**{metric}**" in text, metric
    for dataset, mapping in (("DEAM", "(y - 5)/4"), ("PMEmo", "2y - 1")):
        assert any(dataset in line and mapping in line for line in text.splitlines()), dataset
    assert "Q1" in text and "Q3" in text and "Russell" in text
