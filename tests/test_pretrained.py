"""memo_core.pretrained: the manifest's schema on read (a bad entry skipped with its reason, a bad file one message)
and checkpoint files that must lie inside their folder. Real shipped checkpoint files (loudness, mlr: small and
quick to load), manifests written as JSON of the wrong shape."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import soundfile as sf

from memo_core import pretrained
from memo_core.cli.parser import main
from memo_core.errors import CheckpointError
from memo_core.pretrained import check_entry, load_default_checkpoints, read_manifest
from tests._helpers import REPO, copy_checkpoint_subset, make_tone

KEYS = ("loudness", "mlr")


def _set(folder: Path, edit=None) -> Path:
    """The shipped loudness and mlr checkpoints and their manifest entries in ``folder``; ``edit(manifest)``
    changes the manifest before it is written."""
    return copy_checkpoint_subset(REPO / "checkpoints", folder, KEYS, edit)


def _entry(manifest: dict, key: str) -> dict:
    return next(e for e in manifest["checkpoints"] if isinstance(e, dict) and e.get("key") == key)


#: Entries of the wrong shape: (what is done to the loudness entry, the problem's key, what its reason names).
BAD_ENTRIES = {
    "not an object": (lambda m: m["checkpoints"].__setitem__(0, "loudness"), "entry 1", "is not an object"),
    "key a list": (lambda m: _entry(m, "loudness").__setitem__("key", ["loudness"]), "entry 1", "field 'key'"),
    "key a path": (lambda m: _entry(m, "loudness").__setitem__("key", "../../x"), "entry 1", "field 'key'"),
    "size a text": (lambda m: _entry(m, "loudness").__setitem__("size_bytes", "big"), "loudness",
                    "'loudness': field 'size_bytes' must be a whole number"),
    "parameters a text": (lambda m: _entry(m, "loudness").__setitem__("n_parameters", "many"), "loudness",
                          "field 'n_parameters'"),
    "features a number": (lambda m: _entry(m, "loudness").__setitem__("features", 3), "loudness", "field 'features'"),
    "metrics a list": (lambda m: _entry(m, "loudness").__setitem__("metrics", [0.1]), "loudness", "field 'metrics'"),
    "no sha256": (lambda m: _entry(m, "loudness").pop("sha256"), "loudness", "field 'sha256' is missing"),
    "file up a folder": (lambda m: _entry(m, "loudness").__setitem__("file", "../loudness.pt"), "loudness",
                         "field 'file' must be a plain file name"),
    "file absolute": (lambda m: _entry(m, "loudness").__setitem__("file", str(REPO / "checkpoints" / "loudness.pt")),
                      "loudness", "field 'file'"),
    "file in a subfolder": (lambda m: _entry(m, "loudness").__setitem__("file", "sub/loudness.pt"), "loudness",
                            "field 'file'"),
    "repeated key": (lambda m: _entry(m, "mlr").__setitem__("key", "loudness"), "entry 2", "repeats the key"),
}


@pytest.mark.parametrize("case", list(BAD_ENTRIES))
def test_an_entry_of_the_wrong_shape_is_skipped_with_its_key_and_field_and_the_others_load(tmp_path, case):
    edit, key, reason = BAD_ENTRIES[case]
    folder = _set(tmp_path / "ck", edit)
    if case == "file in a subfolder":  # the file is there: the name alone is refused
        (folder / "sub").mkdir()
        shutil.copy2(REPO / "checkpoints" / "loudness.pt", folder / "sub" / "loudness.pt")
    loaded, problems = load_default_checkpoints(folder)
    survivor = "mlr" if case != "repeated key" else "loudness"
    assert survivor in loaded and loaded[survivor].info["manifest"]["key"] == survivor
    assert list(problems) == [key] and reason in problems[key]
    manifest, skipped = pretrained.read_manifest_checked(folder)
    assert skipped == problems and [e["key"] for e in manifest["checkpoints"]] == [survivor]
    assert [e["key"] for e in read_manifest(folder)["checkpoints"]] == [survivor]


#: Manifests wrong as a whole: what is done to it, and the field the one message names.
BAD_FILES = {
    "version a text": (lambda m: m.__setitem__("version", "one"), "field 'version'"),
    "checkpoints an object": (lambda m: m.__setitem__("checkpoints", {"loudness": {}}), "field 'checkpoints'"),
    "no checkpoints": (lambda m: m.pop("checkpoints"), "field 'checkpoints' is missing"),
    "trained_on a text": (lambda m: m.__setitem__("trained_on", "synth"), "field 'trained_on' must be an object"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_manifest_of_the_wrong_shape_is_one_clear_message(tmp_path, case):
    edit, named = BAD_FILES[case]
    folder = _set(tmp_path / "ck", edit)
    with pytest.raises(CheckpointError, match=named):
        read_manifest(folder)
    loaded, problems = load_default_checkpoints(folder)
    assert not loaded and list(problems) == ["manifest"] and named in problems["manifest"]


def test_the_shipped_manifest_follows_the_schema_and_every_field_says_what_it_must_be():
    manifest, skipped = pretrained.read_manifest_checked(REPO / "checkpoints")
    assert skipped == {} and len(manifest["checkpoints"]) == 20
    assert all(rule.what for rule in pretrained.ENTRY_FIELDS.values())


def test_cli_checkpoints_and_predict_report_bad_entries_and_use_the_rest(tmp_path, monkeypatch, capsys):
    def edit(manifest):
        manifest["checkpoints"].append("at")
        _entry(manifest, "mlr")["n_parameters"] = "many"
        manifest.pop("trained_on")

    folder = _set(tmp_path / "ck", edit)
    assert main(["checkpoints", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "loudness" in out and " ok" in out
    assert "SKIPPED: manifest entry 'mlr': field 'n_parameters' must be a whole number >= 0, got a text 'many'" in out
    assert "SKIPPED: manifest entry 3 is not an object" in out

    song = tmp_path / "song.wav"
    sf.write(song, make_tone(4.0), 22_050)
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))
    assert main(["predict", str(song), "--out", str(tmp_path / "pred"), "-q"]) == 0
    printed = capsys.readouterr()
    assert "skipped default checkpoint mlr: manifest entry 'mlr': field 'n_parameters'" in printed.err
    assert "skipped default checkpoint entry 3: manifest entry 3 is not an object" in printed.err
    assert (tmp_path / "pred" / "loudness" / "song.csv").is_file() and not (tmp_path / "pred" / "mlr").exists()


def test_a_checkpoint_file_that_leads_outside_the_folder_is_not_ok(tmp_path, capsys):
    """A link named as the manifest says whose target (outside the folder) matches the SHA-256 is still refused."""
    folder = _set(tmp_path / "ck")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "loudness.pt").rename(elsewhere / "loudness.pt")
    (folder / "loudness.pt").symlink_to(elsewhere / "loudness.pt")
    entry = _entry(read_manifest(folder), "loudness")
    assert "leads outside" in check_entry(folder, entry)
    assert main(["checkpoints", "--dir", str(folder)]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("loudness"))
    assert "SKIPPED" in line and "leads outside" in line and not line.endswith(" ok")
    loaded, problems = load_default_checkpoints(folder)
    assert list(loaded) == ["mlr"] and "leads outside" in problems["loudness"]
    # a link inside the folder (another name for a file in it) is fine
    (folder / "loudness.pt").unlink()
    (elsewhere / "loudness.pt").rename(folder / "real-loudness.pt")
    (folder / "loudness.pt").symlink_to("real-loudness.pt")
    assert check_entry(folder, entry) is None
