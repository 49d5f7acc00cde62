"""load_dataset's option check: unknown options named with the accepted ones; a loader's own TypeError kept."""

import pytest

from memo_core.data import load_dataset, registry
from memo_core.errors import DatasetError


@pytest.fixture
def fake_loaders(monkeypatch):
    monkeypatch.setattr(registry, "_LOADERS", dict(registry._LOADERS))

    @registry.register_dataset("fake_ok")
    def fake_ok(root, *, require_audio=False, scale="-1-1", split_index=0):
        return ("loaded", root, require_audio, scale, split_index)

    @registry.register_dataset("fake_broken")
    def fake_broken(root, *, require_audio=False, scale="-1-1"):
        return len(3)  # a bug inside the loader: TypeError

    @registry.register_dataset("fake_open")
    def fake_open(root, *, require_audio=False, **options):
        return options


def test_an_unknown_option_is_a_dataset_error_naming_the_accepted_ones(fake_loaders):
    with pytest.raises(DatasetError, match=r"'colour'.*its options: scale, split_index"):
        load_dataset("fake_ok", "/nowhere", colour="blue")


def test_known_options_reach_the_loader(fake_loaders):
    assert load_dataset("fake_ok", None, require_audio=True, scale="0-1") == ("loaded", None, True, "0-1", 0)
    assert load_dataset("fake_open", None, anything=1) == {"anything": 1}


def test_a_type_error_inside_a_loader_is_not_an_unknown_option(fake_loaders):
    with pytest.raises(TypeError, match="len"):
        load_dataset("fake_broken", None, scale="0-1")


def test_real_loader_without_options_says_none(tmp_path):
    with pytest.raises(DatasetError, match="its options: none"):
        load_dataset("deam", tmp_path, colour="blue")
