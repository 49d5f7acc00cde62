"""The spectrogram models from the command line: train, evaluate and predict DAMFF and the VGG-ish tagger.

Real rendered songs, real features, real (short) training; the predictions are
checked for what a user reads from them, not for their quality.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from memo_core.cli.parser import main
from memo_core.explain.explanation import read_explanations_npz
from memo_core.training.checkpoints import load_checkpoint


@pytest.fixture(scope="module")
def tag_corpus(tags_corpus):
    """Twelve 16 s songs (the session's, tests/conftest.py): enough test and validation songs for some tags to
    have both classes."""
    return tags_corpus


@pytest.fixture(scope="module")
def damff_checkpoint(tiny_corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("damff") / "damff.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["train", "--model", "damff", "--preset", "tiny", "--dataset", "synth", "--root", str(tiny_corpus),
                     "--epochs", "2", "--out", str(path), "-q"])
    assert code == 0
    return path


def test_damff_trains_evaluates_and_predicts_a_real_mp3(damff_checkpoint, shared_data, tmp_path, capsys):
    ckpt = load_checkpoint(damff_checkpoint)
    assert ckpt.info["model_name"] == "damff" and ckpt.feature_spec["name"] == "logmel128_steps"
    assert ckpt.info["train_info"]["features"] == "logmel128_steps"
    assert main(["evaluate", "--checkpoint", str(damff_checkpoint), "-q"]) == 0
    out = capsys.readouterr().out
    assert "reported by Zhang et al." in out  # Sec. 4.2's metrics, per song, are the starred ones
    for metric in ("CCC-per-song*", "r-per-song*", "RMSE-per-song*"):
        assert any(line.startswith(metric) for line in out.splitlines()), metric

    clip = shared_data / "emomusic" / "clips_45seconds" / "2.mp3"
    assert main(["predict", "--checkpoint", str(damff_checkpoint), str(clip), "--out", str(tmp_path), "-q"]) == 0
    curves = pd.read_csv(tmp_path / "2.csv")
    assert list(curves.columns) == ["time_s", "valence", "arousal", "frame_end_s"]
    assert len(curves) == 91 and np.isfinite(curves[["valence", "arousal"]].to_numpy()).all()
    np.testing.assert_allclose(curves["time_s"].to_numpy(), np.arange(91) * 0.5)
    maps = read_explanations_npz(tmp_path / "2.explanations.npz")
    assert {"spatial_attention", "channel_attention", "fusion_gate"} <= set(maps)
    spatial = maps["spatial_attention"]
    assert spatial["values"].shape[0] == 91 and list(spatial["axes"])[0] == "time_s"
    assert len(spatial["axes"]) == spatial["values"].ndim
    for name in ("spatial_attention", "channel_attention", "fusion_gate"):
        values = maps[name]["values"]
        assert values.min() >= 0 and values.max() <= 1 and np.isfinite(values).all(), name

    # another test-time hop (Figure 3): same steps, other windows, so other values after the first window
    assert main(["predict", "--checkpoint", str(damff_checkpoint), str(clip), "--out", str(tmp_path / "hop"),
                 "--hop", "2.5", "-q"]) == 0
    other = pd.read_csv(tmp_path / "hop" / "2.csv")
    assert len(other) == 91
    np.testing.assert_allclose(other.iloc[:60, 1:], curves.iloc[:60, 1:], atol=1e-5)  # the first window is shared
    assert not np.allclose(other.iloc[60:, 1:], curves.iloc[60:, 1:], atol=1e-5)
    assert main(["predict", "--checkpoint", str(damff_checkpoint), str(clip), "--out", str(tmp_path / "bad"),
                 "--hop", "0.3"]) == 2
    assert "multiple of 0.5" in capsys.readouterr().err


def test_damff_ablation_checkpoint_lacks_its_map(tiny_corpus, tmp_path):
    path = tmp_path / "wo_channel.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["train", "--model", "damff", "--preset", "tiny_wo_channel", "--dataset", "synth",
                     "--root", str(tiny_corpus), "--epochs", "1", "--out", str(path), "-q"]) == 0
        song = next(tiny_corpus.rglob("*.flac"))
        assert main(["predict", "--checkpoint", str(path), str(song), "--out", str(tmp_path / "p"), "-q"]) == 0
    maps = read_explanations_npz(next((tmp_path / "p").rglob("*.explanations.npz")))
    assert "channel_attention" not in maps and "spatial_attention" in maps


@pytest.fixture(scope="module")
def tagger_checkpoints(tag_corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("taggers")
    paths = []
    for preset in ("tiny_sa3", "tiny_arelu"):
        path = folder / f"{preset}.pt"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(["train", "--model", "vggish", "--preset", preset, "--dataset", "synth",
                         "--root", str(tag_corpus), "--epochs", "2", "--out", str(path), "-q"])
        assert code == 0
        paths.append(path)
    return paths


def test_tagger_trains_with_the_corpus_tags_and_thresholds_from_validation(tagger_checkpoints):
    from memo_core.data.synth import TAG_VOCABULARY

    ckpt = load_checkpoint(tagger_checkpoints[0])
    assert ckpt.targets == tuple(TAG_VOCABULARY) and ckpt.feature_spec["name"] == "mel96"
    assert ckpt.model.task == "tagging"
    thresholds = ckpt.model.thresholds
    assert thresholds.shape == (len(TAG_VOCABULARY),) and bool(((thresholds > 0) & (thresholds < 1)).all())
    assert "ROC-AUC-macro" in ckpt.info["metrics"] and "PR-AUC-macro" in ckpt.info["metrics"]
    assert ckpt.info["train_info"]["split"]["validation"]  # thresholds had validation songs to come from


def test_tagger_evaluate_and_late_fusion(tagger_checkpoints, capsys):
    a, b = map(str, tagger_checkpoints)
    assert main(["evaluate", "--checkpoint", a, "-q"]) == 0
    alone = capsys.readouterr().out
    assert "ROC-AUC-macro*" in alone and "PR-AUC-macro*" in alone
    assert main(["evaluate", "--checkpoint", a, "--checkpoint", b, "-q"]) == 0
    fused = capsys.readouterr().out
    assert "late fusion of 2 taggers" in fused and "ROC-AUC-macro*" in fused


def test_tagger_predicts_tags_windows_and_occlusion_for_a_real_mp3(tagger_checkpoints, shared_data, tmp_path, capsys):
    a, b = map(str, tagger_checkpoints)
    clip = shared_data / "emomusic" / "clips_45seconds" / "3.mp3"
    assert main(["predict", "--checkpoint", a, "--fuse", b, str(clip), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "3.mp3:" in printed.out + printed.err  # the top tags are shown
    tags = pd.read_csv(tmp_path / "3.csv")
    assert list(tags.columns) == ["tag", "score", "threshold", "predicted"] and len(tags) == 18
    assert tags["score"].between(0, 1).all()
    fused = pd.read_csv(tmp_path / "3.fused.csv")
    assert list(fused["tag"]) == list(tags["tag"])
    assert not np.allclose(fused["score"], tags["score"])  # fusion averages in the second model
    maps = read_explanations_npz(tmp_path / "3.explanations.npz")
    windows = maps["tag_windows"]
    assert windows["values"].shape[1] == 18 and windows["values"].shape[0] >= 2  # 45 s > one 29.9 s window
    assert list(windows["axes"]) == ["window_start_s", "tag"] and windows["axes"]["window_start_s"][0] == 0
    assert maps["tag_occlusion"]["values"].shape[1] == 18
    attention = maps["self_attention"]["values"]
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)


def test_fuse_refuses_a_per_frame_checkpoint(tagger_checkpoints, damff_checkpoint, shared_data, tmp_path, capsys):
    clip = shared_data / "emomusic" / "clips_45seconds" / "3.mp3"
    assert main(["predict", "--checkpoint", str(tagger_checkpoints[0]), "--fuse", str(damff_checkpoint), str(clip),
                 "--out", str(tmp_path)]) == 2
    assert "tagger checkpoints" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_models_lists_the_spectrogram_presets(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for preset in ("tiny_wo_daff", "paper_fs", "paper_sa3", "tiny_arelu"):
        assert preset in out
    line = next(l for l in out.splitlines() if l.split()[:2] == ["vggish", "paper"])
    assert "448,122" in line and "56 tags" in line


@pytest.mark.slow  # 3 s: trains a tagger on the real mel files
def test_tagger_trains_on_mtg_jamendo_mel_files(shared_data, tmp_path, capsys):
    """The official layout and splits with mel .npy files (MTG-Jamendo ships them (96, n_frames)), the 56 tags."""
    root = shared_data / "mtg_jamendo"
    mel_dir = tmp_path / "melspecs"
    rng = np.random.default_rng(0)
    for part, count in (("train", 16), ("validation", 8), ("test", 24)):
        rows = (root / "data" / "splits" / "split-0" / f"autotagging_moodtheme-{part}.tsv").read_text().splitlines()
        for line in rows[1 : count + 1]:
            path = (mel_dir / line.split("\t")[3]).with_suffix(".npy")
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, rng.standard_normal((96, 1500)).astype(np.float32))
    ckpt_path = tmp_path / "jamendo.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["train", "--model", "vggish", "--dataset", "mtg_jamendo", "--root", str(root),
                     "--option", f"mel_dir={mel_dir}", "--epochs", "1", "--out", str(ckpt_path), "-q"]) == 0
    ckpt = load_checkpoint(ckpt_path)
    assert len(ckpt.targets) == 56 and ckpt.targets[0] == "action"
    assert ckpt.info["train_info"]["n_songs"] == {"train": 16, "validation": 8, "test": 24}
    assert ckpt.info["train_info"]["load_options"] == {"mel_dir": str(mel_dir)}
    capsys.readouterr()
    # evaluate reads the dataset with the same loader options, from the checkpoint's record
    assert main(["evaluate", "--checkpoint", str(ckpt_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "24 songs of the 'test' split" in out and "ROC-AUC-macro*" in out
    assert main(["train", "--model", "vggish", "--dataset", "mtg_jamendo", "--root", str(root),
                 "--option", "colour=blue", "--epochs", "1", "--out", str(tmp_path / "x.pt"), "-q"]) == 2
    assert "colour" in capsys.readouterr().err
