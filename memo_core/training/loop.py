"""One training loop for every sequence model: :func:`fit` knows no model by name.

``fit`` pads songs into :class:`~memo_core.data.batching.Batch` objects, adds
input noise, asks the model for its loss (:meth:`SequenceModel.training_loss`
when the model overrides it, else the configured ``"mse"``, ``"rmse"`` or
``"ccc"``), early-stops on the validation loss, keeps the best-validation weights
(``restore="best"``) or the last epoch's (``restore="last"``), then calls the
model's one closed-form hook (:meth:`SequenceModel.fit_closed_form`) with the
training batches. A model made of independent networks (DBLSTM-ELM's scales) can
ask for one stopping decision per network (``stopping="per_network"``, through
its ``stopping_groups`` and ``group_losses`` hooks). The model's paper settings come from
:meth:`SequenceModel.train_defaults`, applied by :func:`resolve_train_config`
under the user's overrides.

>>> from memo_core.train import train_model
>>> result = train_model("mca", "tiny", train_examples, val_examples)     # doctest: +SKIP
>>> result.history.best_epoch                                            # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from memo_core.data.batching import Batch, collate, iterate_batches
from memo_core.data.sequences import Normalizer, SequenceExample, select_targets
from memo_core.errors import MemoError
from memo_core.models.base import SequenceModel
from memo_core.models.losses import LOSSES, song_sign_loss
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import get_model, model_config

__all__ = [
    "TrainConfig",
    "History",
    "TrainResult",
    "OPTIMIZERS",
    "RESTORE_RULES",
    "STOPPING_RULES",
    "loss_function",
    "objective",
    "resolve_train_config",
    "train_step",
    "fit",
    "train_model",
]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """How :func:`fit` trains.

    Attributes:
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9) or ``"rmsprop"``.
        lr: learning rate.
        batch_size: songs per batch.
        max_epochs: gradient epochs (0: only the closed-form hook runs).
        patience: epochs without a better validation loss before stopping
            (``None``: never stop early).
        restore: which weights ``fit`` leaves in the model: ``"best"``, those of
            the epoch with the lowest validation loss; ``"last"``, those after the
            last epoch run (Ma et al. 2017 keep the weights after epoch 50).
        stopping: ``"joint"``, one stopping decision on the model's validation
            loss; ``"per_network"``, one per independent network the model names
            (its ``stopping_groups()`` and ``group_losses()`` hooks): each network
            stops when its own validation loss has not improved for ``patience``
            epochs and, with ``restore="best"``, gets its own best epoch's weights
            back, as Li et al. 2016 train each DBLSTM on its own.
        weight_decay: the optimiser's L2 penalty.
        input_noise_std: std of Gaussian noise added to the (normalised)
            training features, as Ma et al. and Li et al. do.
        segment_frames: train on random windows of this many frames (each
            containing at least one annotated frame); ``None``: whole songs.
        loss: ``"mse"``, ``"rmse"`` or ``"ccc"`` (1 - CCC per target, averaged),
            over annotated frames; used when the model does not override
            ``training_loss``.
        grad_clip: max global gradient norm, or ``None``.
        song_loss_weight: weight of the clip-level sign loss (:func:`song_sign_loss`) beside the
            frame loss, for songs labelled per clip (each song's own ``weight`` multiplies it).
        song_margin: the margin of that loss on the [-1, 1] scale.
        seed: seeds model initialisation (in :func:`train_model`), shuffling,
            noise and windows.
        shuffle: shuffle the training songs every epoch.
        device: torch device.
    """

    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 16
    max_epochs: int = 30
    patience: int | None = 5
    restore: str = "best"
    stopping: str = "joint"
    weight_decay: float = 0.0
    input_noise_std: float = 0.0
    segment_frames: int | None = None
    loss: str = "mse"
    grad_clip: float | None = None
    seed: int = 0
    shuffle: bool = True
    device: str = "cpu"
    song_loss_weight: float = 1.0
    song_margin: float = 0.3

    def validate(self) -> TrainConfig:
        """Raise :class:`MemoError` on values ``fit`` cannot use; return self."""
        problems = []
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer {self.optimizer!r} (known: {', '.join(OPTIMIZERS)})")
        if self.loss not in LOSSES:
            problems.append(f"loss {self.loss!r} (known: {', '.join(LOSSES)})")
        if not self.lr > 0:
            problems.append(f"lr {self.lr} (must be > 0)")
        if int(self.batch_size) < 1:
            problems.append(f"batch_size {self.batch_size} (must be >= 1)")
        if int(self.max_epochs) < 0:
            problems.append(f"max_epochs {self.max_epochs} (must be >= 0)")
        if self.patience is not None and int(self.patience) < 1:
            problems.append(f"patience {self.patience} (must be >= 1 or None)")
        if self.restore not in RESTORE_RULES:
            problems.append(f"restore {self.restore!r} (known: {', '.join(RESTORE_RULES)})")
        if self.stopping not in STOPPING_RULES:
            problems.append(f"stopping {self.stopping!r} (known: {', '.join(STOPPING_RULES)})")
        if self.segment_frames is not None and int(self.segment_frames) < 1:
            problems.append(f"segment_frames {self.segment_frames} (must be >= 1 or None)")
        if self.input_noise_std < 0 or self.weight_decay < 0:
            problems.append("input_noise_std and weight_decay must be >= 0")
        if self.song_loss_weight < 0 or not self.song_margin >= 0:
            problems.append("song_loss_weight and song_margin must be >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            problems.append(f"grad_clip {self.grad_clip} (must be > 0 or None)")
        if problems:
            raise MemoError("bad training config: " + "; ".join(problems))
        return self



@dataclass
class History:
    """What happened in :func:`fit`.

    Attributes:
        train_loss: mean training loss per epoch (with noise and windows).
        val_loss: validation loss per epoch (the training loss when there is no
            validation data).
        best_epoch: the epoch with the lowest validation loss (1-based; 0 when no
            gradient epoch ran); its weights are the model's under ``restore="best"``.
        best_val_loss: its validation loss.
        kept_epoch: the epoch whose weights the model holds after training
            (``best_epoch`` under ``restore="best"``, the last epoch run under
            ``"last"``; per network, see ``network_epochs``).
        restore: the rule that chose ``kept_epoch`` (``TrainConfig.restore``).
        stopping: ``"joint"`` or ``"per_network"`` (``TrainConfig.stopping``).
        network_epochs: under ``stopping="per_network"``, each network's kept epoch.
        network_stopped: under ``stopping="per_network"``, the epoch each network
            stopped after (the last epoch run for a network that never ran out of patience).
        final_val_loss: the validation loss after the closed-form hook.
        stopped_early: training stopped before ``max_epochs``.
        wall_time_s: seconds in ``fit``.
        epoch_seconds: seconds per epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = math.nan
    kept_epoch: int = 0
    restore: str = "best"
    stopping: str = "joint"
    network_epochs: dict[str, int] = field(default_factory=dict)
    network_stopped: dict[str, int] = field(default_factory=dict)
    final_val_loss: float = math.nan
    stopped_early: bool = False
    wall_time_s: float = 0.0
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.train_loss)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (a checkpoint stores this)."""
        out = dataclasses.asdict(self)
        out["epochs_run"] = self.epochs_run
        return out



@dataclass
class TrainResult:
    """A trained model with what is needed to use and save it.

    Attributes:
        model: the trained model (eval mode).
        normalizer: the feature statistics of the training songs.
        history: the training curves.
        config: the training config used.
        targets: the target names (tag names for a tagger), in output order.
        metrics_note: why there are no held-out metrics, when there are none
            (set by :func:`train_from_dataset`).
    """

    model: SequenceModel
    normalizer: Normalizer
    history: History
    config: TrainConfig
    targets: tuple[str, ...]
    metrics_note: str = ""



#: ``TrainConfig.restore``: keep the best-validation epoch's weights, or the last epoch's.
RESTORE_RULES = ("best", "last")
#: ``TrainConfig.stopping``: one stopping decision for the model, or one per network it names.
STOPPING_RULES = ("joint", "per_network")


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda params, lr, wd: torch.optim.Adam(params, lr=lr, weight_decay=wd),
    "adamw": lambda params, lr, wd: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
    "sgd": lambda params, lr, wd: torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd),
    "rmsprop": lambda params, lr, wd: torch.optim.RMSprop(params, lr=lr, weight_decay=wd),
}



def loss_function(model: torch.nn.Module, config: TrainConfig) -> Callable[[ModelOutput, Batch], Tensor]:
    """The model's own ``training_loss`` where it overrides the default, else ``config.loss``."""
    own = getattr(type(model), "training_loss", None)
    if own is not None and own is not SequenceModel.training_loss:
        return model.training_loss
    return LOSSES[config.loss]



def objective(model: torch.nn.Module, config: TrainConfig) -> Callable[[ModelOutput, Batch], Tensor]:
    """What :func:`fit` minimises: :func:`loss_function` on the annotated frames, plus, for batches with
    clip-level labels, ``config.song_loss_weight`` times :func:`song_sign_loss` on the model's
    :meth:`~memo_core.models.base.SequenceModel.song_outputs`.

    The frame loss only sees annotated frames, so songs with clip labels alone add nothing to it:
    their dynamics are never invented, they only move the song-level output. Taggers and models
    without ``song_outputs`` get the frame loss alone.
    """
    frame_loss = loss_function(model, config)
    song_outputs = getattr(model, "song_outputs", None)
    if song_outputs is None or getattr(model, "task", "regression") != "regression" or config.song_loss_weight == 0:
        return frame_loss

    def combined(output: ModelOutput, batch: Batch) -> Tensor:
        loss = frame_loss(output, batch)
        if batch.song_y is not None:
            loss = loss + config.song_loss_weight * song_sign_loss(song_outputs(output, batch.lengths), batch,
                                                                   margin=config.song_margin)
        return loss

    return combined



def resolve_train_config(model: torch.nn.Module, **overrides: Any) -> TrainConfig:
    """``TrainConfig()`` updated with ``model.train_defaults()``, then with ``overrides``.

    ``None`` values in ``overrides`` are ignored (an unset CLI option).

    Raises:
        MemoError: an unknown field, or a value ``fit`` cannot use.
    """
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    defaults = dict(getattr(model, "train_defaults", lambda: {})())
    given = {k: v for k, v in overrides.items() if v is not None}
    for source, values in (("train_defaults()", defaults), ("overrides", given)):
        unknown = sorted(set(values) - fields)
        if unknown:
            raise MemoError(f"unknown training option(s) in {source}: {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    return dataclasses.replace(TrainConfig(), **{**defaults, **given}).validate()



def _collate_for(model) -> Callable[..., Batch]:
    return getattr(model, "make_batch", None) or collate



def _n_labels(batch: Batch) -> int:
    """What a batch's loss averages over: its annotated frames plus its clip-labelled songs."""
    n = int(batch.mask.sum())
    if batch.song_mask is not None:
        n += int(batch.song_mask.any(dim=1).sum())
    return n



def _validation(model, examples, loss_fn, config, *, per_group: bool = False) -> tuple[float, list[float] | None]:
    """The validation value early stopping minimises (the model's ``selection_loss``, else the mean loss) and, with
    ``per_group``, each network's loss (``model.group_losses``, weighted by the batches' labels; in
    ``stopping_groups`` order), both from one pass over the songs (a model with its own ``selection_loss`` gets
    that called too)."""
    no_groups = [math.nan] * len(dict(model.stopping_groups())) if per_group else None
    if not examples:
        return math.nan, no_groups
    model.eval()
    batches = lambda: iterate_batches(examples, batch_size=config.batch_size, device=config.device,  # noqa: E731
                                      collate_fn=_collate_for(model))
    value = None
    own = getattr(model, "selection_loss", None)
    if own is not None:
        with torch.no_grad():
            value = own(batches())
        if value is not None and not per_group:
            return float(value), None
    total, weight, groups = 0.0, 0, None
    with torch.no_grad():
        for batch in batches():
            n = _n_labels(batch)
            if not n:
                continue
            out = model(batch.x, batch.lengths)
            if value is None:
                total += float(loss_fn(out, batch)) * n
            if per_group:
                losses = model.group_losses(out, batch).detach().double() * n
                groups = losses if groups is None else groups + losses
            weight += n
    mean = float(value) if value is not None else (total / weight if weight else math.nan)
    return mean, (groups / weight).tolist() if groups is not None else no_groups


def _check_data(model, train_data, val_data) -> None:
    if not train_data:
        raise MemoError("fit needs at least one training song")
    for name, data in (("training", train_data), ("validation", val_data)):
        for ex in data:
            if ex.n_features != model.n_features or ex.n_targets != model.n_targets:
                raise MemoError(
                    f"{name} song {ex.song_id} has {ex.n_features} features and {ex.n_targets} targets; "
                    f"the model expects {model.n_features} and {model.n_targets}"
                )



def train_step(model: torch.nn.Module, batch: Any, *, loss_fn: Callable, optimizer: torch.optim.Optimizer,
               params: Sequence[torch.Tensor], config: TrainConfig, generator: torch.Generator | None = None,
               epoch: int | None = None) -> torch.Tensor:
    """One optimiser step as :func:`fit` takes it: input noise (``config.input_noise_std``, on real frames
    only), forward, loss, backward, gradient clipping, step. Returns the detached loss.

    Raises:
        MemoError: the loss is not finite (say lower the learning rate).
    """
    x = batch.x
    if config.input_noise_std > 0:
        noise = torch.randn(x.shape, generator=generator).to(x.device) * config.input_noise_std
        x = x + noise * (torch.arange(x.shape[1], device=x.device)[None, :, None] < batch.lengths[:, None, None])
    loss = loss_fn(model(x, batch.lengths), batch)
    if not torch.isfinite(loss):
        raise MemoError(f"the training loss became {float(loss)} in epoch {epoch}; lower the learning rate")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
    optimizer.step()
    return loss.detach()



def _stopping_groups(model, config: TrainConfig) -> dict[str, torch.nn.Module] | None:
    """The networks that stop on their own under ``stopping="per_network"`` (``None`` for joint stopping).

    Raises:
        MemoError: per-network stopping asked of a model without the ``stopping_groups`` and
            ``group_losses`` hooks.
    """
    if config.stopping != "per_network":
        return None
    hook = getattr(model, "stopping_groups", None)
    if hook is None or getattr(model, "group_losses", None) is None:
        raise MemoError(f"stopping='per_network' needs a model that names its independent networks "
                        f"(stopping_groups() and group_losses()); {type(model).__name__} does not")
    groups = dict(hook())
    if not groups:
        raise MemoError(f"{type(model).__name__}.stopping_groups() named no network")
    return groups



class _NetworkStopping:
    """Per-network early stopping: each named network keeps its own best loss, patience and weights.

    A network out of patience is frozen (``requires_grad`` off: optimisers skip parameters without
    a gradient, so it no longer moves) while the others train on; ``finish`` gives each network the
    weights of its own best epoch (``restore="best"``) and unfreezes them all.
    """

    def __init__(self, groups: dict[str, torch.nn.Module], config: TrainConfig):
        self.groups, self.config = groups, config
        self.best = {name: math.inf for name in groups}
        self.since = {name: 0 for name in groups}
        self.state: dict[str, dict] = {}
        self.kept: dict[str, int] = {name: 0 for name in groups}
        self.stopped: dict[str, int] = {}
        self.frozen: set[str] = set()
        self.frozen_params: list[torch.nn.Parameter] = []

    def after_epoch(self, losses: Sequence[float], epoch: int) -> bool:
        """Update each active network with its validation loss of ``epoch`` (``stopping_groups`` order); True when
        every network has stopped."""
        for (name, module), loss in zip(self.groups.items(), losses):
            if name in self.frozen:
                continue
            if loss < self.best[name]:
                self.best[name], self.since[name] = loss, 0
                self.kept[name] = epoch
                if self.config.restore == "best":
                    self.state[name] = copy.deepcopy(module.state_dict())
            else:
                self.since[name] += 1
            if self.config.restore == "last":
                self.kept[name] = epoch
            if self.config.patience is not None and self.since[name] >= self.config.patience:
                self.stopped[name] = epoch
                self.frozen.add(name)
                for p in module.parameters():
                    if p.requires_grad:
                        p.requires_grad_(False)
                        self.frozen_params.append(p)
        return len(self.frozen) == len(self.groups)

    def finish(self, epochs_run: int) -> None:
        for name, module in self.groups.items():
            self.stopped.setdefault(name, epochs_run)
            if self.config.restore == "best" and name in self.state:
                module.load_state_dict(self.state[name])
        for p in self.frozen_params:
            p.requires_grad_(True)
        self.frozen_params = []



def fit(
    model: SequenceModel,
    train_data: Sequence[SequenceExample],
    val_data: Sequence[SequenceExample],
    config: TrainConfig,
    *,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> History:
    """Train ``model`` in place; keep the best validation epoch's weights, or the last epoch's (``config.restore``).

    Args:
        model: any :class:`SequenceModel` (features already normalised).
        train_data: training songs.
        val_data: validation songs for early stopping (may be empty: then the
            training loss, without noise, selects the epoch).
        config: see :class:`TrainConfig` (:func:`resolve_train_config` applies
            the model's paper defaults).
        on_epoch: called after each epoch with ``{"epoch", "train_loss",
            "val_loss", "best", "seconds"}``.
        progress: show a tqdm bar over epochs.

    Returns:
        The :class:`History`. The model is left in eval mode.

    Raises:
        MemoError: no training data, data that does not fit the model, a bad
            config, or a non-finite loss.
    """

    config.validate()
    _check_data(model, train_data, val_data)
    started = time.perf_counter()
    device = torch.device(config.device)
    model.to(device)
    loss_fn = objective(model, config)
    generator = torch.Generator(device="cpu").manual_seed(int(config.seed))
    rng = np.random.default_rng(int(config.seed))
    history = History()
    select_on = val_data if val_data else train_data
    best_state = None

    params = [p for p in model.parameters() if p.requires_grad]
    groups = _stopping_groups(model, config)
    network = _NetworkStopping(groups, config) if groups else None
    if config.max_epochs > 0 and params:
        optimizer = OPTIMIZERS[config.optimizer](params, config.lr, config.weight_decay)
        best = math.inf
        since_best = 0
        bar = tqdm(range(1, int(config.max_epochs) + 1), desc=f"train {getattr(model, 'registry_name', '')}",
                   unit="epoch", disable=not progress)
        try:
            for epoch in bar:
                t0 = time.perf_counter()
                model.train()
                order = (torch.randperm(len(train_data), generator=generator).tolist()
                         if config.shuffle else list(range(len(train_data))))
                total, weight = 0.0, 0
                for batch in iterate_batches(train_data, batch_size=int(config.batch_size), device=device,
                                             order=order, segment_frames=config.segment_frames, rng=rng,
                                             collate_fn=_collate_for(model)):
                    loss = train_step(model, batch, loss_fn=loss_fn, optimizer=optimizer, params=params,
                                      config=config, generator=generator, epoch=epoch)
                    n = max(1, _n_labels(batch))
                    total += float(loss) * n
                    weight += n
                history.train_loss.append(total / max(1, weight))
                val, group_losses = _validation(model, select_on, loss_fn, config, per_group=network is not None)
                history.val_loss.append(val)
                improved = val < best
                if improved:
                    best, since_best = val, 0
                    history.best_epoch, history.best_val_loss = epoch, val
                    if network is None and config.restore == "best":
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    since_best += 1
                done = network.after_epoch(group_losses, epoch) if network is not None else (
                    config.patience is not None and since_best >= config.patience)
                seconds = time.perf_counter() - t0
                history.epoch_seconds.append(seconds)
                record = {"epoch": epoch, "train_loss": history.train_loss[-1], "val_loss": val,
                          "best": improved, "seconds": seconds}
                log.info("epoch %d: train %.4f, val %.4f%s", epoch, record["train_loss"], val,
                         " *" if improved else "")
                bar.set_postfix(train=f"{record['train_loss']:.4f}", val=f"{val:.4f}")
                if on_epoch is not None:
                    on_epoch(record)
                if done:
                    history.stopped_early = epoch < config.max_epochs
                    break
        finally:
            bar.close()
            if network is not None:
                network.finish(history.epochs_run)
        if network is not None:
            history.network_epochs, history.network_stopped = dict(network.kept), dict(network.stopped)
            history.kept_epoch = max(network.kept.values(), default=0)
        elif best_state is not None:
            model.load_state_dict(best_state)
            history.kept_epoch = history.best_epoch
        else:
            history.kept_epoch = history.epochs_run
    history.restore, history.stopping = config.restore, config.stopping

    model.eval()
    with torch.no_grad():
        make = _collate_for(model)
        clean = list(iterate_batches(train_data, batch_size=int(config.batch_size), device=device, collate_fn=make))
        held_out = (list(iterate_batches(val_data, batch_size=int(config.batch_size), device=device, collate_fn=make))
                    if val_data else [])
        model.fit_closed_form(clean, val_batches=held_out)
    history.final_val_loss = _validation(model, select_on, loss_fn, config)[0]
    history.wall_time_s = time.perf_counter() - started
    model.eval()
    return history



def train_model(
    name: str,
    preset: str | None,
    train_examples: Sequence[SequenceExample],
    val_examples: Sequence[SequenceExample],
    *,
    targets: Sequence[str] | None = None,
    config_overrides: dict[str, Any] | None = None,
    model_overrides: dict[str, Any] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = False,
) -> TrainResult:
    """Build a registered model sized to the data, normalise, and :func:`fit` it.

    Args:
        name: a registered model name (``memo_core.models.registry.list_models``).
        preset: its preset (``None``: the default preset).
        train_examples: raw (unnormalised) training songs.
        val_examples: raw validation songs.
        targets: target names to train on (``("arousal",)`` for one
            dimension); ``None``: the examples' own targets.
        config_overrides: :class:`TrainConfig` fields over the model's defaults.
        model_overrides: model config fields over the preset.
        on_epoch, progress: as :func:`fit`.

    Returns:
        The :class:`TrainResult`.
    """

    if not train_examples:
        raise MemoError("train_model needs at least one training song")
    if targets is not None:
        train_examples = select_targets(train_examples, targets)
        val_examples = select_targets(val_examples, targets)
    target_names = tuple(train_examples[0].target_names)
    normalizer = Normalizer.fit(train_examples)
    train_n = normalizer.apply_examples(train_examples)
    val_n = normalizer.apply_examples(val_examples)
    seed = int((config_overrides or {}).get("seed") or 0)
    torch.manual_seed(seed)  # model initialisation is part of a seeded run
    sizes = {"n_features": train_n[0].n_features, "n_targets": len(target_names)}
    if "target_names" in {f.name for f in dataclasses.fields(model_config(name, preset))}:
        sizes["target_names"] = target_names  # models that treat targets differently (DAMFF's losses, tag names)
    model = get_model(name, preset, **{**(model_overrides or {}), **sizes})
    config = resolve_train_config(model, **(config_overrides or {}))
    history = fit(model, train_n, val_n, config, on_epoch=on_epoch, progress=progress)
    return TrainResult(model, normalizer, history, config, target_names)
