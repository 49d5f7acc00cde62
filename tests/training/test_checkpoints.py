"""Checkpoints: round trip, weights_only loading, clear errors, feature-spec checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memo_core.data.sequences import Normalizer, SequenceExample
from memo_core.errors import CheckpointError
from memo_core.features import get_extractor
from memo_core.models.registry import list_models
from memo_core.training.checkpoints import (
    CHECKPOINT_VERSION,
    CheckpointWarning,
    check_feature_spec,
    load_checkpoint,
    save_checkpoint,
)
from memo_core.training.loop import train_model
from memo_core.training.scoring import predict_examples

SPEC = get_extractor("chroma").spec()


def _examples(n_songs, seed, n_features=24, n_frames=30):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_songs):
        x = rng.normal(2.0, 3.0, (n_frames, n_features)).astype(np.float32)
        y = np.tanh(x[:, :2] / 3).astype(np.float32)
        out.append(SequenceExample(str(i), x, y, np.ones(n_frames, bool), np.arange(n_frames) * 0.5))
    return out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained tiny model (MCA where registered, else MLR) saved once."""
    name = "mca" if "mca" in list_models() else "mlr"
    result = train_model(name, "tiny", _examples(6, 0), _examples(2, 1), config_overrides={"max_epochs": 2})
    path = tmp_path_factory.mktemp("ckpt") / "sub" / "model.pt"
    save_checkpoint(path, result.model, feature_spec=SPEC, normalizer=result.normalizer, targets=result.targets,
                    train_info={"dataset": "synth", "split": {"test": ["1", "2"]}, "n_songs": {"train": 6}},
                    metrics={"valence/RMSE": np.float64(0.25)}, history=result.history)
    return path, result


def test_round_trip_gives_identical_predictions(saved):
    path, result = saved
    ckpt = load_checkpoint(path)
    assert not ckpt.model.training
    assert ckpt.targets == ("valence", "arousal") and ckpt.feature_spec["name"] == "chroma"
    assert ckpt.info["metrics"]["valence/RMSE"] == pytest.approx(0.25)
    assert ckpt.info["train_info"]["split"]["test"] == ["1", "2"]
    assert ckpt.info["history"]["epochs_run"] == result.history.epochs_run
    test = _examples(3, 7)
    before = predict_examples(result.model, test, result.normalizer)
    after = predict_examples(ckpt.model, test, ckpt.normalizer)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_file_loads_with_weights_only_and_is_written_atomically(saved):
    path, _ = saved
    data = torch.load(path, weights_only=True)
    assert data["format"] == "memo-checkpoint" and data["version"] == CHECKPOINT_VERSION
    assert set(data["versions"]) == {"torch", "numpy", "memo_core"}
    assert isinstance(data["model"]["config"], dict)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "not a file"),
        (lambda p: (p.write_text("hello, not a checkpoint\n"), p)[1], "not a PyTorch file"),
        (lambda p: (torch.save({"weights": torch.zeros(3)}, p), p)[1], "not a MEMO checkpoint"),
        (lambda p: (torch.save(torch.zeros(3), p), p)[1], "not a MEMO checkpoint"),
        (lambda p: (torch.save({"x": np.random.default_rng(0)}, p), p)[1], "beyond plain data"),
    ],
    ids=["missing", "folder", "text", "random-dict", "tensor", "pickled-object"],
)
def test_bad_files_raise_clear_errors(tmp_path, make, message):
    path = make(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def _altered(saved, tmp_path, change):
    data = torch.load(saved[0], weights_only=True)
    change(data)
    path = tmp_path / "altered.pt"
    torch.save(data, path)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["model"].update(name="no_such_model"), "unknown model 'no_such_model'"),
        (lambda d: d["model"]["config"].update(colour="blue"), "no config field"),
        (lambda d: d["model"]["config"].update(n_features=7), "weights do not fit"),
        (lambda d: d.update(version=CHECKPOINT_VERSION + 1), "upgrade memo_core"),
        (lambda d: d.pop("normalizer"), "missing normalizer"),
    ],
    ids=["unknown-model", "unknown-field", "config-mismatch", "newer-version", "incomplete"],
)
def test_checkpoints_that_do_not_rebuild_raise(saved, tmp_path, change, message):
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_altered(saved, tmp_path, change))


def test_library_version_difference_only_warns(saved, tmp_path):
    path = _altered(saved, tmp_path, lambda d: d["versions"].update(torch="0.0.1"))
    with pytest.warns(CheckpointWarning, match="torch 0.0.1"):
        load_checkpoint(path)


def test_feature_spec_check(saved):
    ckpt = load_checkpoint(saved[0])
    check_feature_spec(ckpt, get_extractor("chroma"))  # same features: fine
    with pytest.raises(CheckpointError, match="name 'spectral'"):
        check_feature_spec(ckpt, "spectral")
    with pytest.raises(CheckpointError, match="params"):
        check_feature_spec(ckpt, get_extractor("chroma", n_fft=4096))
    with pytest.raises(CheckpointError, match="n_features 30"):
        check_feature_spec(ckpt, {**SPEC, "n_features": 30})
    with pytest.warns(CheckpointWarning, match="librosa 0.1"):
        check_feature_spec(ckpt, {**SPEC, "libraries": {**SPEC["libraries"], "librosa": "0.1"}})


def test_save_refuses_unregistered_models_and_unplain_info(saved, tmp_path):
    _, result = saved
    with pytest.raises(CheckpointError, match="not a registered"):
        save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2), feature_spec=SPEC, normalizer=result.normalizer,
                        targets=("valence",))
    with pytest.raises(CheckpointError, match="train_info.when"):
        save_checkpoint(tmp_path / "x.pt", result.model, feature_spec=SPEC, normalizer=result.normalizer,
                        targets=result.targets, train_info={"when": object()})
    assert not (tmp_path / "x.pt").exists()


def test_nested_config_lists_come_back_as_nested_tuples(tmp_path):
    from memo_core.models.registry import get_model
    from memo_core.training.checkpoints import _retuple

    stored = _retuple("vggish", {"channels": [8, 8], "pools": [[2, 4], [3, 5]], "target_names": ["a", "b"]})
    assert stored == {"channels": (8, 8), "pools": ((2, 4), (3, 5)), "target_names": ("a", "b")}
    model = get_model("vggish", "tiny", target_names=("calm", "dark"), n_targets=2)
    normalizer = Normalizer(np.zeros(96, np.float32), np.ones(96, np.float32))
    path = save_checkpoint(tmp_path / "tagger.pt", model, feature_spec=get_extractor("mel96").spec(),
                           normalizer=normalizer, targets=("calm", "dark"))
    assert isinstance(torch.load(path, weights_only=True)["model"]["config"]["pools"][0], list)  # stored as lists
    loaded = load_checkpoint(path).model.config
    assert loaded == model.config and all(isinstance(p, tuple) for p in loaded.pools)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(targets=["valence", "arousal", "dominance"]), "names 3 targets .* but its model has 2 outputs"),
        (lambda d: d.update(targets=["valence"]), "names 1 targets .* but its model has 2 outputs"),
        (lambda d: d.update(targets="valence"), "targets must be a list of output names"),
        (lambda d: d["model"]["config"].update(dropout=float("nan")), "dropout is nan, not a finite number"),
        (lambda d: d["model"]["config"].update(n_features=2_000_000), "n_features is 2000000, outside 0 .. 10,000"),
        (lambda d: d["model"]["config"].update(scales=list(range(1, 2000))), "scales is a list of 1,999 items"),
    ],
    ids=["more-targets", "fewer-targets", "targets-text", "nan-config", "huge-size", "long-list"],
)
def test_configs_and_targets_no_trained_model_has_are_refused(saved, tmp_path, change, message):
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(_altered(saved, tmp_path, change))


def test_a_crafted_config_is_refused_before_it_allocates(saved, tmp_path):
    """Sizes each below the bound whose product is large (3000 features x 3000 hidden units: about 0.9 GB of
    LSTM weights) are refused from the model's shape on torch's meta device, measured in a fresh process."""
    import subprocess
    import sys
    from pathlib import Path

    from tests._helpers import REPO

    if not Path("/proc/self/status").is_file():
        pytest.skip("measures peak memory through Linux's /proc")
    path = _altered(saved, tmp_path, lambda d: d["model"]["config"].update(n_features=3000, hidden_size=3000))
    # The peak resident memory of this process image (VmHWM; ru_maxrss would carry the forking parent's peak).
    script = (
        "from pathlib import Path\n"
        "from memo_core.errors import CheckpointError\n"
        "from memo_core.training.checkpoints import load_checkpoint\n"
        "def peak_kb():\n"
        "    line = next(l for l in Path('/proc/self/status').read_text().splitlines() if l.startswith('VmHWM'))\n"
        "    return int(line.split()[1])\n"
        f"load_checkpoint({str(saved[0])!r})\n"  # everything a load needs is imported and warm
        "before = peak_kb()\n"
        "try:\n"
        f"    load_checkpoint({str(path)!r})\n"
        "except CheckpointError as exc:\n"
        "    print('refused:', exc)\n"
        "print('grew_mb', (peak_kb() - before) / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "weights do not fit" in out.stdout
    grew = float(out.stdout.split("grew_mb")[1])
    assert grew < 100, f"loading the crafted checkpoint took {grew:.0f} MB more"


def test_every_preset_passes_the_config_bounds_and_tiny_ones_round_trip(tmp_path):
    """The bounds refuse no config a real model has (paper sizes counted on the meta device, no memory)."""
    import dataclasses

    from memo_core.models.registry import get_model, list_presets, model_config
    from memo_core.training.checkpoints import _check_config_values

    for name in list_models():
        for preset in list_presets(name):
            config = dataclasses.asdict(model_config(name, preset))
            with torch.device("meta"):
                stored = sum(t.numel() for t in get_model(name, preset).state_dict().values())
            _check_config_values(tmp_path / "x.pt", name, config, stored)
        model = get_model(name, "tiny")
        n = model.config.n_features
        path = save_checkpoint(tmp_path / f"{name}.pt", model, feature_spec=SPEC,
                               normalizer=Normalizer(np.zeros(n, np.float32), np.ones(n, np.float32)),
                               targets=[f"t{i}" for i in range(model.n_targets)])
        loaded = load_checkpoint(path)
        assert loaded.model.config == model.config
        for key, value in model.state_dict().items():
            torch.testing.assert_close(loaded.model.state_dict()[key], value)


def test_a_large_seed_is_not_mistaken_for_a_huge_size(tmp_path):
    """Seeds size nothing: a tiny model trained with seed 2**31 - 1 loads (only size-like integers are bounded by
    the weight count)."""
    from memo_core.models.registry import get_model

    model = get_model("dblstm_elm", "tiny", elm_seed=2**31 - 1)
    n = model.config.n_features
    path = save_checkpoint(tmp_path / "seed.pt", model, feature_spec=SPEC,
                           normalizer=Normalizer(np.zeros(n, np.float32), np.ones(n, np.float32)),
                           targets=[f"t{i}" for i in range(model.n_targets)])
    assert load_checkpoint(path).model.config.elm_seed == 2**31 - 1
