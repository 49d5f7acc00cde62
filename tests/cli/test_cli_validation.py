"""Options checked at the parser: numbers finite and in range, known names only, no silent overwrite or
nonsense run (issue 15); the library's warnings about an input file shown once."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import soundfile as sf
import torch

from memo_core.cli.parser import build_parser, main
from tests._helpers import cli_commands, make_tone

#: Argparse types that parse a list of numbers (each checks its own values), and one that parses names only.
LIST_TYPES = ("_seconds_list",)
NAME_TYPES = ("_sections",)


def _typed_options() -> list[tuple[str, str, argparse.Action]]:
    """``(command, option, action)`` for every option of every command that converts its value to numbers."""
    return [(name, action.option_strings[-1], action)
            for name, sub in cli_commands(build_parser(), nested=True).items()
            for action in sub._actions if action.option_strings and action.type is not None
            and getattr(action.type, "__qualname__", "") not in NAME_TYPES]


def _required(sub: argparse.ArgumentParser, skip: argparse.Action) -> list[str]:
    """Values for the command's required options and positionals, so that only ``skip`` can fail."""
    argv = []
    for action in sub._actions:
        if action is skip or not (action.required or not action.option_strings):
            continue
        value = action.choices[0] if action.choices else "x"
        argv += [action.option_strings[-1], str(value)] if action.option_strings else [str(value)]
    return argv


def _refused(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
    return err


OPTIONS = _typed_options()


@pytest.mark.parametrize("command, option, action", OPTIONS, ids=[f"{c} {o}" for c, o, _ in OPTIONS])
def test_every_numeric_option_refuses_nan_inf_and_out_of_range(command, option, action, capsys):
    """A future option with a bare ``type=int``/``type=float`` fails here: give it a checked type."""
    kind = getattr(action.type, "__qualname__", "")
    assert action.type not in (int, float), f"{command} {option}: use parser._number(...), not type={kind}"
    assert hasattr(action.type, "bounds") or kind in LIST_TYPES, f"{command} {option}: its type has no range"
    sub = cli_commands(build_parser(), nested=True)[command]
    base = [*command.split(), *_required(sub, action)]
    for value in ("nan", "inf", "-inf", "NaN"):
        assert f"argument {option}" in _refused([*base, option, value], capsys)
    if hasattr(action.type, "bounds"):
        low, high, above = action.type.bounds
        below = low if above else low - 1
        for value in (below, high + 1):
            text = str(int(value)) if action.type.__name__ == "int" else repr(float(value))
            err = _refused([*base, option, text], capsys)
            assert f"argument {option}" in err and f"got '{text}'" in err
        inside = (low + high) / 2 if action.type.__name__ == "float" else low + (1 if above else 0)
        assert getattr(build_parser().parse_args([*base, option, str(inside)]), action.dest) == pytest.approx(inside)


@pytest.mark.parametrize(
    "argv, option",
    [
        (["predict", "song.wav", "--out", "o", "--hop", "nan"], "--hop"),
        (["synth", "--out", "o", "--duration", "nan"], "--duration"),
        (["train", "--model", "mlr", "--out", "o.pt", "--epochs", "0"], "--epochs"),
        (["compare", "--root", "nowhere", "--max-epochs", "0"], "--max-epochs"),
        (["train", "--model", "mlr", "--out", "o.pt", "--lr", "inf"], "--lr"),
        (["synth", "--out", "o", "--seed", "-1"], "--seed"),
    ],
    ids=["predict-hop-nan", "synth-duration-nan", "train-epochs-0", "compare-max-epochs-0", "lr-inf", "seed-neg"],
)
def test_the_reported_numbers_get_a_usage_error(argv, option, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing is written, but a parser that let the value through would write here
    assert (argv[0], option) in {(command, name) for command, name, _ in OPTIONS}  # the walk above covers it
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: expected" in err and "Traceback" not in err


@pytest.mark.parametrize("weight", ["inf", "1e400"])
def test_train_defaults_refuses_a_source_weight_that_is_not_a_finite_number(weight):
    from memo_core.cli.experiments import _source_spec
    from memo_core.errors import MemoError

    with pytest.raises(MemoError, match="the weight must be a finite number >= 0"):
        _source_spec(f"synth@{weight}")
    assert _source_spec("synth@0.5") == ("synth", None, 0.5)


def test_evaluate_refuses_an_unknown_split_naming_the_valid_ones(capsys):
    from memo_core.experiments.evaluation import SPLITS

    err = _refused(["evaluate", "--checkpoint", "m.pt", "--split", "tset"], capsys)
    assert "invalid choice: 'tset'" in err and all(repr(s) in err for s in SPLITS)
    split = next(a for a in cli_commands(build_parser())["evaluate"]._actions if "--split" in a.option_strings)
    assert tuple(split.choices) == SPLITS


def test_evaluate_checkpoint_refuses_an_unknown_split(tmp_path):
    from memo_core.errors import MemoError
    from memo_core.experiments.evaluation import evaluate_checkpoint

    path = _mlr_checkpoint(tmp_path / "m.pt")
    with pytest.raises(MemoError, match="unknown split 'tset'; the splits are test, validation, train, all"):
        evaluate_checkpoint(path, split="tset", progress=False)


def test_compare_refuses_unknown_metrics_before_training(tmp_path, capsys):
    # No corpus exists at --root: the metric names are checked before anything is loaded or trained.
    assert main(["compare", "--root", str(tmp_path / "nowhere"), "--metrics", "RMSE,NOPE", "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --metrics 'RMSE,NOPE': unknown metric(s) NOPE")
    assert "CCC-per-song" in err and "tau-per-song" in err


def test_the_metric_names_are_the_reports():
    from memo_core.metrics import REGRESSION_METRICS, regression_report

    rng = np.random.default_rng(0)
    songs = {"valence": [rng.uniform(-1, 1, 8) for _ in range(2)]}
    report = regression_report(songs, {"valence": [s + rng.normal(0, 0.1, 8) for s in songs["valence"]]},
                               targets=("valence",))
    assert tuple(k.split("/", 1)[1] for k in report) == REGRESSION_METRICS


def test_train_keeps_an_existing_checkpoint_unless_forced(tmp_path, capsys):
    out = tmp_path / "model.pt"
    out.write_bytes(b"an earlier checkpoint")
    argv = ["train", "--model", "mlr", "--dataset", "no_such_dataset", "--root", str(tmp_path), "--out", str(out),
            "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{out} exists" in err and "--force" in err
    assert out.read_bytes() == b"an earlier checkpoint"
    # --force lets it past the check: the next problem is the (deliberately unknown) dataset
    assert main([*argv, "--force"]) == 2
    err = capsys.readouterr().err
    assert "no_such_dataset" in err and "exists" not in err
    assert main(["train", "--model", "mlr", "--out", str(tmp_path), "-q"]) == 2
    assert "is a folder" in capsys.readouterr().err


def _mlr_checkpoint(path, targets=("valence", "arousal")):
    from memo_core.data.sequences import Normalizer
    from memo_core.features import get_extractor
    from memo_core.models.registry import get_model
    from memo_core.training.checkpoints import save_checkpoint

    model = get_model("mlr", n_features=24, n_targets=2)
    save_checkpoint(path, model, feature_spec=get_extractor("chroma").spec(),
                    normalizer=Normalizer(np.zeros(24, np.float32), np.ones(24, np.float32)), targets=targets,
                    train_info={"dataset": "synth"})
    return path


@pytest.mark.parametrize("targets", [("valence", "arousal", "dominance"), ("valence",)], ids=["more", "fewer"])
def test_predict_with_targets_that_do_not_match_the_outputs_is_a_message(targets, tmp_path, capsys):
    path = _mlr_checkpoint(tmp_path / "m.pt")
    data = torch.load(path, weights_only=True)
    data["targets"] = list(targets)
    torch.save(data, path)
    sf.write(tmp_path / "song.wav", make_tone(2.0, 22_050), 22_050)
    assert main(["predict", "--checkpoint", str(path), str(tmp_path / "song.wav"), "--out", str(tmp_path / "o"),
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"names {len(targets)} targets" in err and "2 outputs" in err
    assert not (tmp_path / "o" / "song.csv").exists()


def test_extract_and_predict_show_the_librarys_warnings_once_per_file(tmp_path, capsys):
    silent = tmp_path / "in" / "quiet.wav"
    silent.parent.mkdir()
    sf.write(silent, np.zeros(22_050 * 2, np.float32), 22_050)
    sf.write(tmp_path / "in" / "tone.wav", make_tone(2.0, 22_050), 22_050)
    assert main(["extract", "--features", "chroma", str(silent.parent), "--out", str(tmp_path / "f"), "-q"]) == 0
    err = capsys.readouterr().err
    assert err.count("quiet.wav is silent") == 1 and err.startswith("warning: ") and "tone.wav" not in err
    path = _mlr_checkpoint(tmp_path / "m.pt")
    assert main(["predict", "--checkpoint", str(path), str(silent), "--out", str(tmp_path / "o"), "-q"]) == 0
    assert capsys.readouterr().err.count("quiet.wav is silent") == 1


def test_extract_says_when_a_damaged_cache_entry_is_recomputed(tmp_path, capsys):
    from memo_core.audio import load_audio
    from memo_core.features import get_extractor
    from memo_core.features.cache import cache_path

    song = tmp_path / "song.wav"
    sf.write(song, make_tone(2.0, 22_050), 22_050)
    argv = ["extract", "--features", "chroma", str(song), "--out", str(tmp_path / "f"), "-q"]
    assert main(argv) == 0
    entry = cache_path(load_audio(song), get_extractor("chroma"))
    entry.write_bytes(b"damaged")
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.count("is damaged") == 1 and f"warning: {song}: Feature cache entry" in err
