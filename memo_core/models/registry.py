"""The model registry: ``register_model``, ``get_model``, ``list_models``, presets.

A model family registers its class under a name, with its ``@dataclass`` config
class and named presets (paper-sized and tiny configurations are named configs,
never copies of code). ``get_model`` rebuilds any model from its name, a preset
and overrides, which is all a checkpoint needs to store.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

from memo_core.errors import MemoError

__all__ = ["register_model", "get_model", "list_models", "list_presets", "model_config", "model_class", "ModelSpec"]

_REGISTRY: dict[str, ModelSpec] = {}
# Modules that register models on import; imported lazily so `import memo_core` stays fast.
_FAMILY_MODULES = ("baseline", "mca", "dblstm_elm", "attentive_lstm", "damff", "vggish")
_loaded = False


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    cls: type
    config_cls: type
    presets: dict[str, Any]
    default_preset: str


def register_model(name: str, *, config: type, presets: dict[str, Any], default_preset: str = "tiny") -> Callable:
    """Class decorator registering a model under ``name``.

    Args:
        name: registry key (lower case, as in the CLI).
        config: the model's ``@dataclass`` config class.
        presets: named configs (instances of ``config``), at least ``"tiny"``.
        default_preset: the preset used when none is named.

    Raises:
        ValueError: the name is taken, or a preset is not an instance of ``config``.
    """

    def wrap(cls: type) -> type:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered (by {_REGISTRY[name].cls.__qualname__})")
        for key, preset in presets.items():
            if not isinstance(preset, config):
                raise ValueError(f"preset {key!r} of {name!r} is not a {config.__name__}")
        if default_preset not in presets:
            raise ValueError(f"default preset {default_preset!r} of {name!r} is not among its presets")
        _REGISTRY[name] = ModelSpec(name, cls, config, dict(presets), default_preset)
        cls.registry_name = name
        return cls

    return wrap


def _load_families() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _FAMILY_MODULES:
        try:
            importlib.import_module(f"{__package__}.{module}")
        except ModuleNotFoundError as exc:  # a family not written yet must not break the others
            if exc.name != f"{__package__}.{module}":
                raise


def list_models() -> list[str]:
    """Registered model names, sorted."""
    _load_families()
    return sorted(_REGISTRY)


def _spec(name: str) -> ModelSpec:
    _load_families()
    if name not in _REGISTRY:
        raise MemoError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def model_class(name: str) -> type:
    """The registered class of ``name`` (its ``task`` says what it predicts)."""
    return _spec(name).cls


def list_presets(name: str) -> list[str]:
    """Preset names of a model."""
    return sorted(_spec(name).presets)


def model_config(name: str, preset: str | None = None, **overrides: Any) -> Any:
    """The config of ``name`` from a preset, with fields overridden.

    Raises:
        MemoError: unknown model, preset or config field.
    """
    spec = _spec(name)
    preset = preset or spec.default_preset
    if preset not in spec.presets:
        raise MemoError(f"model {name!r} has no preset {preset!r}; presets: {', '.join(sorted(spec.presets))}")
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise MemoError(f"model {name!r} has no config field(s) {', '.join(unknown)}; fields: {', '.join(sorted(fields))}")
    return dataclasses.replace(spec.presets[preset], **overrides)


def get_model(name: str, preset: str | None = None, **overrides: Any):
    """Build a model: ``get_model("mca", "tiny", n_features=260, n_targets=2)``."""
    spec = _spec(name)
    return spec.cls(model_config(name, preset, **overrides))
