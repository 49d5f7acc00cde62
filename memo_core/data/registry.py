"""The dataset registry: one name per on-disk layout, one call to load any of them.

>>> from memo_core.data import load_dataset
>>> load = load_dataset("deam", "~/data/DEAM")          # doctest: +SKIP
>>> print(load.summary())                               # doctest: +SKIP

A loader is a function ``(root, *, require_audio, **options) -> DatasetLoad``
registered under its name with :func:`register_dataset`. The loaders of the
datasets MEMO knows are registered when :mod:`memo_core.data` is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from memo_core.data.records import DatasetLoad
from memo_core.errors import DatasetError

__all__ = ["DatasetLoader", "register_dataset", "list_datasets", "load_dataset"]


class DatasetLoader(Protocol):
    def __call__(self, root: Path | None, *, require_audio: bool = False, **options: Any) -> DatasetLoad: ...


_LOADERS: dict[str, DatasetLoader] = {}


def register_dataset(name: str) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator registering a loader under ``name``; a name already taken raises ValueError."""

    def decorator(loader: DatasetLoader) -> DatasetLoader:
        if name in _LOADERS:
            raise ValueError(f"a dataset loader named {name!r} is already registered")
        _LOADERS[name] = loader
        return loader

    return decorator


def list_datasets() -> list[str]:
    """The registered dataset names, sorted."""
    return sorted(_LOADERS)


def load_dataset(
    name: str,
    root: str | Path | None = None,
    *,
    require_audio: bool = False,
    **options: Any,
) -> DatasetLoad:
    """Load a dataset by its registry name.

    Args:
        name: one of :func:`list_datasets` (``"deam"``, ``"emomusic"``, ...).
        root: the dataset's top folder as downloaded; ``~`` is expanded. Only
            ``"synth"`` has a default (the generated corpus folder).
        require_audio: when True, songs without an audio file go to
            ``skipped`` with the reason ``"no audio file"``; when False they are
            kept with ``audio_path=None`` (enough for annotation-only work).
        **options: loader-specific options (``split_index`` for MTG-Jamendo,
            ``scale`` for the generic layout, ...).

    Returns:
        The songs read and the songs skipped, with reasons.

    Raises:
        DatasetError: unknown name, an option the loader does not take, or a
            folder or file missing or malformed.
    """
    if name not in _LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(list_datasets())}")
    loader = _LOADERS[name]
    _check_options(name, loader, options)
    path = None if root is None else Path(root).expanduser()
    return loader(path, require_audio=require_audio, **options)


def _check_options(name: str, loader: DatasetLoader, options: dict[str, Any]) -> None:
    """Refuse options the loader's signature does not name (checked here, so a TypeError raised
    inside a loader is never mistaken for an unknown option)."""
    params = inspect.signature(loader).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    root_name = next(iter(params), None)  # the folder, passed positionally
    accepted = [k for k, p in params.items() if k not in (root_name, "require_audio")
                and p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise DatasetError(f"{name} does not take the option{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(map(repr, unknown))}; its options: {', '.join(accepted) or 'none'}. "
                           "See the loader's docstring.")
