"""The model commands end to end: models, train, evaluate (holdout and k-fold), predict."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from memo_core.cli.parser import build_parser, main

COMMANDS = ["train", "evaluate", "predict", "models"]


@pytest.fixture(scope="module")
def corpus(tags_corpus):
    """The session's 12-song, 16 s synthetic corpus (train 8 / validation 2 / test 2; tests/conftest.py)."""
    return tags_corpus


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "mlr.pt"
    code = main(["train", "--model", "mlr", "--dataset", "synth", "--root", str(corpus), "--features", "chroma",
                 "--target", "both", "--out", str(out), "-q"])
    assert code == 0
    return out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_models_lists_models_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("mlr"))
    assert line.split()[2] == "522"  # 260 x 2 weights + 2 biases


def test_train_writes_a_checkpoint_with_split_and_metrics(trained):
    data = torch.load(trained, weights_only=True)
    info = data["train_info"]
    assert info["dataset"] == "synth" and info["features"] == "chroma"
    assert {k: len(v) for k, v in info["split"].items()} == {"train": 8, "validation": 2, "test": 2}
    assert "arousal/RMSE" in data["metrics"] and data["targets"] == ["valence", "arousal"]


def test_train_one_target_and_epoch_log(corpus, tmp_path, capsys):
    out = tmp_path / "gru.pt"
    assert main(["train", "--model", "mlr", "--dataset", "synth", "--root", str(corpus), "--features", "chroma",
                 "--target", "arousal", "--epochs", "2", "--lr", "0.01", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "epoch   1: train" in text and "epoch   2: train" in text
    assert "valence" not in text.split("held-out")[1]
    assert torch.load(out, weights_only=True)["targets"] == ["arousal"]


def test_evaluate_checkpoint_prints_metrics(trained, capsys):
    assert main(["evaluate", "--checkpoint", str(trained), "--smooth", "-q"]) == 0
    out = capsys.readouterr().out
    assert "2 songs of the 'test' split (smoothed)" in out
    rmse = next(l for l in out.splitlines() if l.startswith("RMSE*"))
    assert all(0 < float(v) < 2 for v in rmse.split()[1:])


def test_evaluate_kfold(corpus, tmp_path, capsys):
    report = tmp_path / "cv.json"
    assert main(["evaluate", "--model", "mlr", "--protocol", "kfold", "--folds", "4", "--dataset", "synth",
                 "--root", str(corpus), "--features", "chroma", "--json", str(report), "-q"]) == 0
    out = capsys.readouterr().out
    assert "4-fold cross-validation" in out and "fold 4:" in out
    assert any(l.startswith("R2*") for l in out.splitlines())
    assert any(l.startswith("tau-per-song*") for l in out.splitlines())
    import json

    assert len(json.loads(report.read_text())["folds"]) == 4


def test_evaluate_bad_checkpoint_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "x.pt"
    bad.write_text("not a model")
    assert main(["evaluate", "--checkpoint", str(bad)]) == 2
    assert "not a PyTorch file" in capsys.readouterr().err


def test_predict_folder_reports_bad_files(trained, corpus, tmp_path, capsys):
    songs = tmp_path / "songs"
    songs.mkdir()
    shutil.copy(corpus / "audio" / "1.flac", songs / "one.flac")
    (songs / "broken.mp3").write_bytes(b"nope" * 50)
    assert main(["predict", "--checkpoint", str(trained), str(songs), "--out", str(tmp_path / "out"), "-q"]) == 0
    captured = capsys.readouterr()
    assert "1 of 2 files" in captured.out and "broken.mp3" in captured.err
    frame = pd.read_csv(tmp_path / "out" / "one.csv")
    assert list(frame.columns) == ["time_s", "valence", "arousal", "frame_end_s"] and len(frame) == 32  # 16 s
    assert (tmp_path / "out" / "one.explanations.npz").is_file()


def test_predict_keeps_both_songs_that_share_a_name(trained, corpus, tmp_path):
    import soundfile as sf

    songs = tmp_path / "songs"
    songs.mkdir()
    shutil.copy(corpus / "audio" / "1.flac", songs / "song.flac")
    samples, rate = sf.read(corpus / "audio" / "2.flac")
    sf.write(songs / "song.wav", samples[: rate * 10], rate)
    assert main(["predict", "--checkpoint", str(trained), str(songs), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert len(pd.read_csv(tmp_path / "out" / "song.flac.csv")) == 32  # 16 s
    assert len(pd.read_csv(tmp_path / "out" / "song.wav.csv")) == 20


def test_predict_real_mp3_with_explanations(shared_data, tmp_path, capsys):
    from memo_core.data.sequences import SequenceExample
    from memo_core.features import get_extractor
    from memo_core.models.registry import list_models
    from memo_core.training.checkpoints import save_checkpoint
    from memo_core.training.loop import train_model

    name = "mca" if "mca" in list_models() else "mlr"
    rng = np.random.default_rng(0)
    examples = [SequenceExample(str(i), rng.standard_normal((30, 24)).astype(np.float32),
                                rng.uniform(-1, 1, (30, 2)).astype(np.float32), np.ones(30, bool),
                                np.arange(30) * 0.5) for i in range(3)]
    result = train_model(name, "tiny", examples[:2], examples[2:], config_overrides={"max_epochs": 1})
    ckpt = save_checkpoint(tmp_path / "m.pt", result.model, feature_spec=get_extractor("chroma").spec(),
                           normalizer=result.normalizer, targets=result.targets)
    mp3 = shared_data / "emomusic" / "clips_45seconds" / "3.mp3"
    assert main(["predict", "--checkpoint", str(ckpt), str(mp3), "--out", str(tmp_path / "pred"), "--smooth",
                 "-q"]) == 0
    frame = pd.read_csv(tmp_path / "pred" / "3.csv")
    assert frame["time_s"].iloc[1] == 0.5 and len(frame) >= 88
    with np.load(tmp_path / "pred" / "3.explanations.npz") as data:
        np.testing.assert_allclose(data["time_s"], frame["time_s"])
        for key in data["map_keys"]:
            for axis in data[f"{key}__axes"]:
                assert data[f"{key}__{axis}"].shape[0] == data[key].shape[list(data[f"{key}__axes"]).index(axis)]
        if name == "mca":
            assert "scale_weights" in data["map_names"]
            np.testing.assert_allclose(data["scale_weights__time_s"], frame["time_s"])
