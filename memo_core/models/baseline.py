"""The per-frame multiple linear regression baseline (MediaEval 2015 "MLR").

The Emotion in Music task's organisers report a multiple linear regression on
the ``deam260`` frame features as the baseline every dynamic model must beat
(Aljanaki, Yang and Soleymani, "Emotion in Music task at MediaEval 2015").
Here it predicts each frame from that frame alone and is solved in closed form
by :meth:`MLR.fit_closed_form` (least squares with a small ridge term for
numerical stability), so ``fit`` runs no gradient epochs for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from memo_core.data.batching import Batch
from memo_core.models.base import SequenceConfig, SequenceModel
from memo_core.models.outputs import ModelOutput
from memo_core.models.registry import register_model

__all__ = ["MLR", "MLRConfig", "LoudnessRegression", "LoudnessConfig", "SongLinear", "SongLinearConfig"]


@dataclass
class MLRConfig(SequenceConfig):
    """Attributes:
    ridge: L2 penalty added to the normal equations (0 gives ordinary least squares).
    """

    ridge: float = 1e-3


@register_model(
    "mlr",
    config=MLRConfig,
    # tiny: for a handful of songs, where more features than frames make plain least squares overfit
    presets={"paper": MLRConfig(), "tiny": MLRConfig(ridge=0.1)},
)
class MLR(SequenceModel):
    """Per-frame linear regression: ``y_t = W x_t + b``, no context.

    Explanations: none (the weights themselves are the explanation).
    """

    def __init__(self, config: MLRConfig):
        super().__init__(config)
        self.linear = nn.Linear(config.n_features, config.n_targets)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        return ModelOutput(prediction=self.linear(x))

    def train_defaults(self) -> dict[str, Any]:
        return {"max_epochs": 0, "patience": None}

    @torch.no_grad()
    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Least squares over every annotated frame of the training batches (validation data unused)."""
        xs, ys = [], []
        for batch in batches:
            xs.append(batch.x[batch.mask])
            ys.append(batch.y[batch.mask])
        if not xs:
            return
        x = torch.cat(xs).double()
        y = torch.cat(ys).double()
        design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
        gram = design.T @ design
        penalty = self.config.ridge * len(x) * torch.eye(gram.shape[0], dtype=x.dtype)
        penalty[-1, -1] = 0.0  # never shrink the intercept
        solution = torch.linalg.solve(gram + penalty, design.T @ y)
        self.linear.weight.copy_(solution[:-1].T.to(self.linear.weight.dtype))
        self.linear.bias.copy_(solution[-1].to(self.linear.bias.dtype))


# --------------------------------------------------------------------------- loudness


@dataclass
class LoudnessConfig(SequenceConfig):
    """Attributes:
    column: the input column used (``loudness``'s ``rms_db_2s``, the RMS level of the preceding 2 s).
    clip_target: the value a clip-level sign label stands for when the ELM-free closed form has
        no frame labels to fit on (a least-squares classifier; only the slope's sign matters then).
    """

    n_features: int = 2
    column: int = 1
    clip_target: float = 0.3


def _clip_rows(batch: Batch, values: Tensor) -> tuple[Tensor, Tensor, Tensor] | None:
    """Song means of ``values`` [batch, n_frames, k], clip labels and their mask, for labelled songs."""
    if batch.song_y is None or batch.song_mask is None:
        return None
    inside = (torch.arange(values.shape[1])[None, :] < batch.lengths[:, None]).to(values.dtype).unsqueeze(-1)
    means = (values * inside).sum(1) / inside.sum(1).clamp_min(1.0)
    keep = batch.song_mask.any(dim=1)
    if not bool(keep.any()):
        return None
    return means[keep], batch.song_y[keep].to(values.dtype), batch.song_mask[keep]


def _solve_ridge(design: Tensor, target: Tensor, ridge: float) -> Tensor:
    """Least squares with an L2 penalty ``ridge * n`` on every column but the last (the intercept)."""
    gram = design.T @ design
    penalty = ridge * len(design) * torch.eye(gram.shape[0], dtype=design.dtype)
    penalty[-1, -1] = 0.0
    return torch.linalg.solve(gram + penalty, design.T @ target)


@register_model("loudness", config=LoudnessConfig, presets={"paper": LoudnessConfig(), "tiny": LoudnessConfig()})
class LoudnessRegression(SequenceModel):
    """The loudness baseline: valence and arousal as a linear function of one feature, the RMS level in
    dB of the preceding 2 s (the ``loudness`` feature set's ``rms_db_2s``).

    A loudness meter with a slope: any model worth explaining must track arousal better than this.
    Fitted in closed form (least squares) on the annotated frames of the training songs; with no
    annotated frame (a source labelled per clip only), on the clip labels as ``+/-clip_target``
    (a least-squares classifier). Explanations: none.
    """

    default_features = "loudness"

    def __init__(self, config: LoudnessConfig):
        super().__init__(config)
        if not 0 <= config.column < config.n_features:
            raise ValueError(f"column {config.column} is outside the {config.n_features} input features")
        self.linear = nn.Linear(1, config.n_targets)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        return ModelOutput(prediction=self.linear(x[..., self.config.column : self.config.column + 1]))

    def train_defaults(self) -> dict[str, Any]:
        return {"max_epochs": 0, "patience": None}

    @torch.no_grad()
    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Least squares per target on annotated frames, else on clip labels (see the class docstring)."""
        col = slice(self.config.column, self.config.column + 1)
        frames_x, frames_y, clips_x, clips_y, clips_m = [], [], [], [], []
        for batch in batches:
            frames_x.append(batch.x[batch.mask][:, col])
            frames_y.append(batch.y[batch.mask])
            rows = _clip_rows(batch, batch.x[..., col])
            if rows is not None:
                clips_x.append(rows[0]), clips_y.append(rows[1]), clips_m.append(rows[2])
        x = torch.cat(frames_x).double() if frames_x else torch.zeros(0, 1, dtype=torch.float64)
        y = torch.cat(frames_y).double() if frames_y else torch.zeros(0, self.n_targets, dtype=torch.float64)
        for j in range(self.n_targets):
            if len(x) >= 2:
                xs, ys = x, y[:, j]
            elif clips_x:
                m = torch.cat(clips_m)[:, j]
                xs = torch.cat(clips_x).double()[m]
                ys = torch.cat(clips_y).double()[m, j] * self.config.clip_target
            else:
                continue
            if len(xs) < 2:
                continue
            design = torch.cat([xs, torch.ones(len(xs), 1, dtype=xs.dtype)], dim=1)
            solution = _solve_ridge(design, ys[:, None], 1e-6)
            self.linear.weight[j, 0] = float(solution[0, 0])
            self.linear.bias[j] = float(solution[1, 0])


# --------------------------------------------------------------------------- song-level linear


@dataclass
class SongLinearConfig(SequenceConfig):
    """Attributes:
    ridges: the L2 penalties tried (per row, on standardised song statistics); the one with the
        lowest validation error is kept (the first when there is no validation song).
    clip_target: the value a clip-level sign label stands for in the least squares.
    """

    ridges: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
    clip_target: float = 0.3


@register_model("songlin", config=SongLinearConfig,
                presets={"paper": SongLinearConfig(), "tiny": SongLinearConfig()})
class SongLinear(SequenceModel):
    """The song-level linear baseline: one valence/arousal value per song, a ridge regression on the
    song's feature statistics (mean and standard deviation of each feature over its frames).

    The bar issue #18 sets for the explained models on real recordings (a regularised linear model on
    song-level statistics separates 4Q's quadrants better than loudness does). Fitted in closed form
    on every training song: a song with dynamic labels contributes its mean annotation, a clip-labelled
    song its sign as ``+/-clip_target``; the ridge penalty is chosen on the validation songs. Its
    prediction is the same for every frame of a song. Explanations: none.
    """

    def __init__(self, config: SongLinearConfig):
        super().__init__(config)
        if not config.ridges or any(not r > 0 for r in config.ridges):
            raise ValueError(f"ridges must be positive, got {config.ridges}")
        self.linear = nn.Linear(2 * config.n_features, config.n_targets)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.register_buffer("stat_mean", torch.zeros(2 * config.n_features))
        self.register_buffer("stat_std", torch.ones(2 * config.n_features))

    def song_statistics(self, x: Tensor, lengths: Tensor | None) -> Tensor:
        """Mean and standard deviation of each feature over each song's frames. [shape=(batch, 2 n_features)]"""
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
        inside = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None])
        inside = inside.to(x.dtype).unsqueeze(-1)
        n = inside.sum(1).clamp_min(1.0)
        mean = (x * inside).sum(1) / n
        var = (((x - mean[:, None]) ** 2) * inside).sum(1) / n
        return torch.cat([mean, var.clamp_min(0).sqrt()], dim=1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> ModelOutput:
        stats = (self.song_statistics(x, lengths) - self.stat_mean) / self.stat_std
        return ModelOutput(prediction=self.linear(stats)[:, None, :].expand(-1, x.shape[1], -1))

    def train_defaults(self) -> dict[str, Any]:
        return {"max_epochs": 0, "patience": None}

    def _rows(self, batches: Iterable[Batch]) -> tuple[Tensor, Tensor, Tensor]:
        stats, targets, known = [], [], []
        for batch in batches:
            s = self.song_statistics(batch.x, batch.lengths).double()
            mask = batch.mask.unsqueeze(-1).double()
            n = mask.sum(1)
            frame_mean = (batch.y.double() * mask).sum(1) / n.clamp_min(1.0)
            has_frames = (n[:, 0] > 0)[:, None].expand(-1, self.n_targets)
            target = torch.where(has_frames, frame_mean, torch.zeros_like(frame_mean))
            ok = has_frames.clone()
            if batch.song_y is not None and batch.song_mask is not None:
                clip = batch.song_mask & ~has_frames
                target = torch.where(clip, batch.song_y.double() * self.config.clip_target, target)
                ok = ok | clip
            stats.append(s), targets.append(target), known.append(ok)
        if not stats:
            return torch.zeros(0, 2 * self.n_features), torch.zeros(0, self.n_targets), torch.zeros(0, self.n_targets)
        return torch.cat(stats), torch.cat(targets), torch.cat(known)

    @torch.no_grad()
    def fit_closed_form(self, batches: Iterable[Batch], *, val_batches: Iterable[Batch] = ()) -> None:
        """Ridge per target on the training songs' standardised statistics, penalty chosen on validation."""
        s, t, k = self._rows(batches)
        if len(s) < 2:
            return
        mean, std = s.mean(0), s.std(0)
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        self.stat_mean.copy_(mean.float()), self.stat_std.copy_(std.float())
        z = (s - mean) / std
        vs, vt, vk = self._rows(val_batches)
        vz = (vs - mean) / std if len(vs) else vs
        for j in range(self.n_targets):
            rows = k[:, j]
            if int(rows.sum()) < 2:
                continue
            design = torch.cat([z[rows], torch.ones(int(rows.sum()), 1, dtype=z.dtype)], dim=1)
            best = None
            for ridge in self.config.ridges:
                solution = _solve_ridge(design, t[rows, j][:, None], ridge)
                vrows = vk[:, j] if len(vz) else torch.zeros(0, dtype=torch.bool)
                if int(vrows.sum()) == 0:
                    best = best or (0.0, solution)
                    continue
                pred = torch.cat([vz[vrows], torch.ones(int(vrows.sum()), 1, dtype=z.dtype)], 1) @ solution
                error = float(((pred[:, 0] - vt[vrows, j]) ** 2).mean())
                if best is None or error < best[0]:
                    best = (error, solution)
            self.linear.weight[j] = best[1][:-1, 0].float()
            self.linear.bias[j] = float(best[1][-1, 0])
