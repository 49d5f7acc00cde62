"""The default checkpoints: training a set with its manifest, checksums, skipping what is damaged."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from memo_core.cli.parser import main
from memo_core.errors import CheckpointError, MemoError
from memo_core.experiments.train_defaults import train_default_set
from memo_core.pretrained import (
    DEFAULT_SET,
    FEATURE_SUBSETS,
    MANIFEST_NAME,
    check_entry,
    default_checkpoints_dir,
    load_default_checkpoints,
    read_manifest,
    sha256_of,
)

QUICK = ["mca", "damff", "vggish", "at_chroma"]  # in DEFAULT_SET order


@pytest.fixture(scope="module")
def quick_set(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("defaults")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_default_set(out, corpus=tiny_corpus, only=QUICK, max_epochs=1, progress=False)
    return out


def test_the_default_set_covers_every_family_and_feature_subset():
    keys = [s.key for s in DEFAULT_SET]
    assert len(keys) == len(set(keys))
    assert {"mca", "mca_uniform", "dblstm_elm", "at", "bat", "chaki_lstm", "transformer", "damff", "vggish",
            "vggish_sa3", "vggish_arelu"} <= set(keys)
    at_features = {s.features for s in DEFAULT_SET if s.model == "at"}
    assert set(FEATURE_SUBSETS) <= at_features


def test_manifest_records_what_each_checkpoint_is(quick_set, tiny_corpus):
    manifest = read_manifest(quick_set)
    assert [e["key"] for e in manifest["checkpoints"]] == QUICK
    assert manifest["trained_on"]["dataset"] == "synth" and manifest["trained_on"]["corpus"]["seed"] == 7
    for entry in manifest["checkpoints"]:
        path = quick_set / entry["file"]
        assert entry["sha256"] == sha256_of(path) and entry["size_bytes"] == path.stat().st_size
        assert entry["n_parameters"] > 0 and "synthetic corpus" in entry["training_data"]
        assert entry["split_sizes"]["train"] >= 1
    by_key = {e["key"]: e for e in manifest["checkpoints"]}
    assert by_key["damff"]["features"] == "logmel128_steps" and by_key["vggish"]["features"] == "mel96"
    assert by_key["at_chroma"]["features"] == "chroma" and by_key["mca"]["features"] == "deam260_tonal"
    assert by_key["vggish"]["task"] == "tagging" and len(by_key["vggish"]["targets"]) == 18
    assert "valence/RMSE" in by_key["mca"]["metrics"]


def test_retraining_one_keeps_the_others(quick_set, tiny_corpus, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(quick_set, copy)
    before = {e["key"]: e for e in read_manifest(copy)["checkpoints"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_default_set(copy, corpus=tiny_corpus, only=["at_chroma"], max_epochs=1, seed=1, progress=False)
    after = {e["key"]: e for e in read_manifest(copy)["checkpoints"]}
    assert list(after) == list(before)
    assert after["mca"] == before["mca"] and after["at_chroma"]["sha256"] != before["at_chroma"]["sha256"]
    with pytest.raises(MemoError, match="no default checkpoint named nope"):
        train_default_set(copy, corpus=tiny_corpus, only=["nope"], progress=False)


def test_damaged_or_missing_checkpoints_are_skipped_and_the_rest_load(quick_set, tmp_path):
    folder = tmp_path / "ck"
    shutil.copytree(quick_set, folder)
    loaded, problems = load_default_checkpoints(folder)
    assert list(loaded) == QUICK and not problems
    assert loaded["mca"].info["manifest"]["key"] == "mca"
    with open(folder / "mca.pt", "ab") as handle:  # tampered: one byte more
        handle.write(b"\0")
    (folder / "damff.pt").unlink()
    data = (folder / "at_chroma.pt").read_bytes()
    (folder / "at_chroma.pt").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other content
    loaded, problems = load_default_checkpoints(folder)
    assert list(loaded) == ["vggish"]
    assert "changed or truncated" in problems["mca"] and "missing" in problems["damff"]
    assert "SHA-256" in problems["at_chroma"]
    entry = {e["key"]: e for e in read_manifest(folder)["checkpoints"]}["mca"]
    assert check_entry(folder, entry) == problems["mca"]
    _, problems = load_default_checkpoints(folder, keys=["vggish", "ghost"])
    assert "no checkpoint 'ghost'" in problems["ghost"]


def test_a_broken_manifest_is_a_clear_problem(quick_set, tmp_path):
    folder = tmp_path / "ck"
    shutil.copytree(quick_set, folder)
    (folder / MANIFEST_NAME).write_text("{ not json")
    loaded, problems = load_default_checkpoints(folder)
    assert not loaded and "not readable JSON" in problems["manifest"]
    (folder / MANIFEST_NAME).write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointError, match="not a MEMO checkpoint manifest"):
        read_manifest(folder)
    (folder / MANIFEST_NAME).unlink()
    with pytest.raises(CheckpointError, match="train-defaults"):
        read_manifest(folder)


def test_cli_checkpoints_and_predict_find_the_defaults(quick_set, tmp_path, monkeypatch, capsys, shared_data):
    folder = tmp_path / "ck"
    shutil.copytree(quick_set, folder)
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))
    assert default_checkpoints_dir() == folder
    assert main(["checkpoints"]) == 0
    assert capsys.readouterr().out.count(" ok") == len(QUICK)
    (folder / "mca.pt").write_bytes(b"tampered")
    assert main(["checkpoints"]) == 1
    assert "SKIPPED" in capsys.readouterr().out

    import memo_core.audio
    import memo_core.cli.models

    clip = shared_data / "emomusic" / "clips_45seconds" / "2.mp3"
    out = tmp_path / "pred"
    decoded, real_load = [], memo_core.audio.load_audio
    monkeypatch.setattr(memo_core.cli.models, "load_audio", lambda *a, **k: decoded.append(a) or real_load(*a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["predict", str(clip), "--out", str(out), "-q"]) == 0
    assert len(decoded) == 1  # one decode of the file for all three usable checkpoints
    monkeypatch.setattr(memo_core.cli.models, "load_audio", real_load)
    printed = capsys.readouterr()
    assert "skipped default checkpoint mca" in printed.err
    # each summary line names the checkpoint's key (its model beside it where they differ) and its folder
    assert f"at_chroma (at): 1 of 1 files -> {out / 'at_chroma'}" in printed.out
    assert f"damff: 1 of 1 files -> {out / 'damff'}" in printed.out
    assert sorted(p.name for p in out.iterdir()) == ["at_chroma", "damff", "vggish"]
    curves = pd.read_csv(out / "damff" / "2.csv")
    assert list(curves.columns) == ["time_s", "valence", "arousal", "frame_end_s"]
    assert np.isfinite(curves.iloc[:, 1:]).all().all()
    assert list(pd.read_csv(out / "vggish" / "2.csv").columns) == ["tag", "score", "threshold", "predicted"]
    # a manifest key works as --checkpoint; a damaged one is refused with the reason
    assert main(["predict", "--checkpoint", "at_chroma", str(clip), "--out", str(tmp_path / "one"), "-q"]) == 0
    assert (tmp_path / "one" / "2.csv").is_file()
    assert main(["predict", "--checkpoint", "mca", str(clip), "--out", str(tmp_path / "two"), "-q"]) == 2
    assert "changed or truncated" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_train_defaults_refuses_an_epoch_cap_below_one(tmp_path, bad):
    """0 epochs would save untrained weights over the shipped checkpoints."""
    from memo_core.errors import MemoError
    from memo_core.experiments.train_defaults import train_default_set

    with pytest.raises(MemoError, match="max_epochs"):
        train_default_set(tmp_path / "out", corpus=tmp_path / "never-read", max_epochs=bad, progress=False)
    assert not (tmp_path / "out").exists()


def test_resume_skips_the_intact_checkpoints_and_retrains_a_damaged_one(quick_set, tiny_corpus, tmp_path):
    out = tmp_path / "set"
    shutil.copytree(quick_set, out)
    (out / "at_chroma.pt").write_bytes(b"damaged")  # no longer matches its SHA-256
    trained, estimates = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_default_set(out, corpus=tiny_corpus, only=QUICK, max_epochs=1, progress=False, resume=True,
                          on_done=lambda e: trained.append(e["key"]), on_estimate=estimates.append)
    assert trained == ["at_chroma"]
    assert check_entry(out, {e["key"]: e for e in read_manifest(out)["checkpoints"]}["at_chroma"]) is None
    # the estimate covers only what is left, from the measured cost of the run being resumed
    assert len(estimates) == 1 and estimates[0]["total"] > 0
    assert estimates[0]["total"] == pytest.approx(estimates[0]["extraction"] + estimates[0]["training"])


def test_the_baselines_are_part_of_the_default_set():
    by_key = {s.key: s for s in DEFAULT_SET}
    assert by_key["loudness"].features == "loudness" and by_key["songlin"].features == by_key["mca"].features
    assert by_key["mlr"].model == "mlr"


def test_a_source_without_tags_trains_the_rest_and_says_why_the_taggers_are_not(tmp_path):
    from tests.realdata_layouts import write_generic

    root = write_generic(tmp_path / "generic", n_songs=8)
    trained, skipped = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_default_set(tmp_path / "set", sources=[("generic", root, 1.0)], only=["loudness", "vggish"],
                          max_epochs=1, progress=False, on_done=lambda e: trained.append(e["key"]),
                          on_skip=lambda key, why: skipped.append((key, why)))
    assert trained == ["loudness"]
    assert skipped and skipped[0][0] == "vggish" and "no training source carries mood/theme tags" in skipped[0][1]
    entry = read_manifest(tmp_path / "set")["checkpoints"][0]
    assert entry["training_sources"][0]["dataset"] == "generic" and "terms" in entry["training_sources"][0]["licence"]
