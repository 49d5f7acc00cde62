"""The checkpoints that ship in checkpoints/: intact, loadable, small, and honest about their training data."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from memo_core.explain.explanation import explain_song
from memo_core.pretrained import (
    DEFAULT_SET,
    check_entry,
    load_default_checkpoints,
    read_manifest,
)
from tests._helpers import REPO
from tests.fixtures.make_reference_predictions import OUT as REFERENCE
from tests.fixtures.make_reference_predictions import predictions

REPO_CHECKPOINTS = REPO / "checkpoints"


@pytest.fixture(scope="module")
def manifest():
    return read_manifest(REPO_CHECKPOINTS)


def test_every_default_ships_intact_and_the_folder_stays_small(manifest):
    keys = [e["key"] for e in manifest["checkpoints"]]
    assert keys == [s.key for s in DEFAULT_SET]
    for entry in manifest["checkpoints"]:
        assert check_entry(REPO_CHECKPOINTS, entry) is None, entry["key"]
    total = sum(p.stat().st_size for p in REPO_CHECKPOINTS.iterdir() if p.is_file())
    assert total < 50e6


def test_manifest_says_what_they_were_trained_on(manifest):
    assert manifest["trained_on"]["dataset"] == "synth+4q"
    for entry in manifest["checkpoints"]:
        sources = {s["dataset"]: s for s in entry["training_sources"]}
        assert "4q" in sources and "cite" in sources["4q"]["licence"], entry["key"]  # the terms travel with it
        assert sources["4q"]["songs"]["test"] > 0 and "artists" in sources["4q"]["split"]
        if entry["task"] == "regression":
            assert entry["training_data"].startswith("MEMO synthetic corpus"), entry["key"]
            assert entry["clip_metrics"]["n_songs"] == sources["4q"]["songs"]["test"]
        assert entry["metrics"], f"{entry['key']} has no held-out metrics"
        assert entry["split_sizes"]["test"] > 0


def test_every_valence_arousal_checkpoint_carries_its_real_music_figures(manifest):
    for entry in manifest["checkpoints"]:
        if entry["task"] != "regression":
            assert entry.get("tag_spread", {}).get("n_songs", 0) > 0, entry["key"]
            continue
        real = entry["validation_real"]
        for target in ("arousal", "valence"):
            figure = real["4q"][f"{target}_auc"]
            assert figure["lo"] <= figure["value"] <= figure["hi"], entry["key"]
        assert real["4q"]["n_songs"] == 88 and isinstance(real["verdict"], str)


def test_they_load_and_explain_a_real_clip(shared_data):
    loaded, problems = load_default_checkpoints(REPO_CHECKPOINTS)
    assert not problems and len(loaded) == len(DEFAULT_SET)
    clip = shared_data / "emomusic" / "clips_45seconds" / "4.mp3"
    for key in ("bat", "damff", "vggish_sa3"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            song = explain_song(loaded[key], clip)
        values = song.predictions.select_dtypes("number").to_numpy()
        assert np.isfinite(values).all() and song.explanations, key


def test_predictions_match_the_reference(manifest):
    """Every shipped checkpoint says today what it said when the reference was written (before the package was
    restructured): same features, same weights, same code path. Retraining the set on purpose changes the
    SHA-256s; then write the reference again (tests/fixtures/make_reference_predictions.py)."""
    reference = np.load(REFERENCE)
    shas = json.loads(str(reference["_sha256"]))
    retrained = [e["key"] for e in manifest["checkpoints"] if shas.get(e["key"]) != e["sha256"]]
    assert not retrained, f"{retrained} changed since the reference: run tests/fixtures/make_reference_predictions.py"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        now = predictions(REPO_CHECKPOINTS)
    assert sorted(now) == sorted(k for k in reference.files if k != "_sha256")
    for key, values in now.items():
        np.testing.assert_allclose(values, reference[key], rtol=1e-4, atol=1e-5, err_msg=key)
