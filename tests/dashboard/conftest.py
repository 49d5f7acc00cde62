"""Shared helpers for the dashboard's AppTests: open a page on the tiny corpus, upload generated audio."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests._helpers import REPO
from tests.dashboard._helpers import REAL_KEYS


@pytest.fixture
def corpus_env(tiny_corpus, monkeypatch):
    """The app pointed at the 4-song tiny corpus, with the free dataset path field allowed."""
    monkeypatch.setenv("MEMO_DATA_DIR", str(tiny_corpus))
    monkeypatch.delenv("MEMO_DATASET_ROOTS", raising=False)
    return tiny_corpus



@pytest.fixture
def manifest_with(tmp_path, monkeypatch) -> Callable[[Mapping[str, Mapping[str, Any]]], list[dict]]:
    """The app pointed at a copy of the shipped checkpoints whose manifest a test writes.

    Call the returned function with ``{key: {manifest key: value}}``: every entry loses :data:`REAL_KEYS`,
    then gets the values given for its key (anything JSON can hold, malformed on purpose or not); the
    dashboard's checkpoint and manifest caches are cleared so the next run reads it. Call it again to
    rewrite the manifest. Returns the entries written.
    """
    from dashboard import resources

    folder = tmp_path / "ckpts"
    shutil.copytree(REPO / "checkpoints", folder)
    shipped = json.loads((folder / "manifest.json").read_text())
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))

    def write(updates: Mapping[str, Mapping[str, Any]]) -> list[dict]:
        manifest = json.loads(json.dumps(shipped))
        for entry in manifest["checkpoints"]:
            for key in REAL_KEYS:
                entry.pop(key, None)
            entry.update(updates.get(entry["key"], {}))
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
        resources.checkpoints.clear()
        resources.manifest_entries.clear()
        return manifest["checkpoints"]

    yield write
    resources.checkpoints.clear()
    resources.manifest_entries.clear()

