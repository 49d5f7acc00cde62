"""Checkpoint sets: the shipped one, or another folder with a manifest, chosen in the sidebar (restricted to the
configured roots when the app is served)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests._helpers import REPO
from tests.dashboard._helpers import open_page, texts

#: Tests of the checkpoint sets themselves: the whole shipped checkpoints/ (tests/dashboard/conftest.py).
CHECKPOINT_KEYS = None

#: What the copied sets' manifests say they were trained on (shown in the sidebar).
_TRAINED_ON = {"dataset": "deam+synth", "sources": [{"dataset": "deam", "weight": 1.0},
                                                    {"dataset": "synth", "weight": 0.5}],
               "corpus": {"name": "memo-synth", "version": 2, "seed": 9, "n_songs": 40, "duration_s": 30.0}}


def _copy_set(folder: Path, *, drop: tuple[str, ...] = ("bat",)) -> Path:
    """A copy of the shipped checkpoints whose manifest says it is the copy (its entries' training data and its
    ``trained_on``) and lists every checkpoint but ``drop``."""
    shutil.copytree(REPO / "checkpoints", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["trained_on"] = _TRAINED_ON
    manifest["checkpoints"] = [dict(e, training_data="Copied test set (seed 9)") for e in manifest["checkpoints"]
                               if e["key"] not in drop]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _trace_names(app) -> set[str]:
    va = json.loads(app.get("plotly_chart")[1].proto.spec)
    return {d.get("name") for d in va["data"]}


def _in_use(app) -> str:
    """The sidebar's note on the set in use, with Markdown's escapes removed."""
    return next(c.value for c in app.sidebar.caption if "**In use:**" in c.value).replace("\\", "")


@pytest.fixture
def fresh_checkpoint_caches():
    from dashboard import resources

    yield
    resources.checkpoints.clear()
    resources.manifest_entries.clear()


def test_a_typed_set_is_used_by_the_pages_and_a_folder_without_manifest_keeps_the_set(
        corpus_env, tmp_path, fresh_checkpoint_caches):
    copy = _copy_set(tmp_path / "my set")
    empty = tmp_path / "no manifest"
    empty.mkdir()
    app = open_page()
    assert not app.exception
    assert app.sidebar.radio(key="memo_checkpoint_set").value == "Shipped (checkpoints/)"
    assert "the shipped set" in _in_use(app) and "memo-synth v2, seed 0, 150 songs of 45 s" in _in_use(app)

    # a folder without a manifest: a message, and the shipped set stays
    app.sidebar.radio(key="memo_checkpoint_set").set_value("Another folder").run()
    assert "Type the folder of a checkpoint set" in texts(app)
    app.sidebar.text_input(key="memo_checkpoint_dir").input(str(empty)).run()
    assert not app.exception
    assert "holds no manifest.json" in " ".join(w.value for w in app.sidebar.warning)
    assert "the shipped set" in _in_use(app)
    assert any(o.startswith("bat ") for o in app.sidebar.multiselect(key="memo_ckpt_AT/BAT").options)

    # the copy: its labels, its summary, and the Song page analyses with its checkpoints only
    app.sidebar.text_input(key="memo_checkpoint_dir").input(str(copy)).run()
    assert not app.exception and not app.sidebar.warning
    in_use = _in_use(app)
    assert str(copy.resolve()) in in_use and "the shipped set" not in in_use
    assert "deam ×1, synth ×0.5 (memo-synth v2, seed 9, 40 songs of 30 s)" in in_use
    chips = app.sidebar.multiselect(key="memo_ckpt_AT/BAT")  # short chips; each one's training data in the help
    options = chips.options
    assert options and not any(o.startswith("bat") for o in options)
    assert all(f"**{o.split()[0]}**" in chips.help for o in options) and "Copied test set" in chips.help
    names = _trace_names(app)
    assert "at" in names and "bat" not in names
    assert {"checkpoint", "RMSE"} <= set(app.dataframe[0].value.columns)

    # another page sees the same set
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    assert "Copied test set (seed 9)" in texts(app)

    # back to the shipped set
    app.sidebar.radio(key="memo_checkpoint_set").set_value("Shipped (checkpoints/)").run()
    assert "the shipped set" in _in_use(app) and "Copied test set" not in texts(app)


def test_served_app_offers_only_the_sets_inside_the_roots(corpus_env, tmp_path, monkeypatch,
                                                          fresh_checkpoint_caches):
    roots = tmp_path / "roots"
    inside = _copy_set(roots / "class set")
    outside = _copy_set(tmp_path / "outside")
    (roots / "escape").symlink_to(outside)  # a link out of the roots is not offered
    (roots / "not a set").mkdir()
    # the tiny corpus is a root too: a served app opens even its built-in corpus only inside the roots
    monkeypatch.setenv("MEMO_DATASET_ROOTS", os.pathsep.join([str(roots), str(corpus_env)]))
    app = open_page()
    assert not app.exception
    assert not [t for t in app.sidebar.text_input if t.key == "memo_checkpoint_dir"]
    choice = app.sidebar.selectbox(key="memo_checkpoint_served")
    assert choice.options == ["Shipped (checkpoints/)", str(inside.resolve())]
    choice.select(str(inside.resolve())).run()
    assert not app.exception
    assert str(inside.resolve()) in _in_use(app) and "deam ×1, synth ×0.5" in _in_use(app)
    assert "bat" not in _trace_names(app)


def test_checkpoint_folder_check_reuses_the_dataset_roots(tmp_path):
    from dashboard.resources import (
        Settings,
        check_checkpoints_dir,
        checkpoint_sets_under_roots,
    )
    from memo_core.errors import CheckpointError

    root = tmp_path / "root"
    inside = _copy_set(root / "set")
    outside = _copy_set(tmp_path / "outside")
    (root / "escape").symlink_to(outside)
    (root / "bad").mkdir()
    (root / "bad" / "manifest.json").write_text("{not json")
    served = Settings((root.resolve(),), "MEMO_DATASET_ROOTS")
    assert check_checkpoints_dir(str(inside), served) == inside.resolve()
    assert check_checkpoints_dir(str(outside), Settings()) == outside.resolve()  # a personal machine
    for bad in (str(outside), str(root / "escape"), str(root / "set" / ".." / ".."), str(REPO / "checkpoints")):
        with pytest.raises(CheckpointError, match="restricted to configured roots"):
            check_checkpoints_dir(bad, served)
    with pytest.raises(CheckpointError, match="not a usable checkpoint set"):
        check_checkpoints_dir(str(root / "bad"), served)
    with pytest.raises(CheckpointError, match="holds no manifest.json"):
        check_checkpoints_dir(str(tmp_path), Settings())
    with pytest.raises(CheckpointError, match="does not exist"):
        check_checkpoints_dir(str(tmp_path / "missing"), Settings())
    # offered: sets directly in a root with a manifest file, links out of the roots left out
    assert checkpoint_sets_under_roots(served) == [str((root / "bad").resolve()), str(inside.resolve())]
    assert checkpoint_sets_under_roots(Settings((), "memo.toml")) == []


def test_trained_on_summary_reads_what_train_defaults_writes_and_survives_malformed_manifests():
    from memo_core.explain.trust import trained_on_summary
    from memo_core.pretrained import read_manifest

    shipped = trained_on_summary(read_manifest(REPO / "checkpoints"))
    assert shipped.startswith("synth (memo-synth v2, seed 0, 150 songs of 45 s), 4q; made ")
    assert trained_on_summary({"trained_on": _TRAINED_ON}) == \
        "deam ×1, synth ×0.5 (memo-synth v2, seed 9, 40 songs of 30 s)"
    assert trained_on_summary({"trained_on": {"dataset": "deam+4q"}, "created": "2027-01-02T03:04:05"}) == \
        "deam, 4q; made 2027-01-02"
    for odd in (None, [], "synth", {"trained_on": "synth"}, {"trained_on": {"sources": [None, {"dataset": 3}]}},
                {"trained_on": {"corpus": [], "dataset": 7}, "created": 5}):
        assert trained_on_summary(odd) == "not stated in the manifest"
