"""How well what the synthetic corpus teaches holds on real music.

:func:`transfer_report` trains ridge regressions on the corpus's annotated
frames (``deam260`` features, standardised with the corpus statistics) and
scores them, by pooled Pearson r over all annotated frames, on

* the corpus's own test songs (the in-corpus held-out r), and
* the real clips with audio in the shared data folder: the emoMusic 45 s clips
  and the PMEmo chorus excerpts, with their dynamic annotations.

Beside the full model it reports a one-feature loudness baseline (the frame's
mean RMS energy, fitted on the corpus) and a model that also sees the mean
features of the preceding frames, since listeners report the accumulated
past. The real clips are few: read their numbers as a smoke signal, not a
benchmark.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold
from tqdm.auto import tqdm

from memo_core.audio import FRAME_SECONDS, load_audio
from memo_core.data import load_dataset
from memo_core.errors import DatasetError
from memo_core.features import extract, get_extractor
from memo_core.features.base import annotation_frame_index
from memo_core.metrics import pearson_r

__all__ = ["transfer_report", "format_transfer_report", "frame_features", "context_features", "select_alpha"]

FEATURE_SET = "deam260"
LOUDNESS_FEATURE = "pcm_RMSenergy_sma_mean"
CONTEXT_FRAMES = 8
TARGETS = ("arousal", "valence")


def _extract(path: str, feature_set: str = FEATURE_SET) -> np.ndarray:

    return extract(load_audio(path), feature_set)


def frame_features(paths: list[Path], *, workers: int | None = None, progress: bool = True,
                   desc: str = "features", feature_set: str = FEATURE_SET) -> list[np.ndarray]:
    """Features of several files (``deam260`` by default), through the feature cache, in parallel.

    Args:
        paths: audio files.
        workers: processes (default up to 2); 1 works in this process.
        progress: show a tqdm bar.
        desc: the bar's label.
        feature_set: a 500 ms extractor name.

    Returns:
        One array per file. [shape=(n_frames, n_features)]
    """


    workers = max(1, min(workers or min(2, os.cpu_count() or 1), len(paths) or 1))
    names = [str(p) for p in paths]
    if workers == 1:
        return [_extract(p, feature_set) for p in tqdm(names, desc=desc, disable=not progress)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        return list(tqdm(pool.map(partial(_extract, feature_set=feature_set), names), total=len(names), desc=desc, disable=not progress))


def context_features(x: np.ndarray, *, n_context: int = CONTEXT_FRAMES) -> np.ndarray:
    """Each frame's features beside the mean of the ``n_context`` frames before it (itself included).

    Args:
        x: frame features. [shape=(n_frames, n_features)]
        n_context: frames averaged, the current one included; causal.

    Returns:
        ``[x, causal running mean of x]``. [shape=(n_frames, 2 * n_features)]
    """
    c = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(0, idx - n_context)
    mean = (c[idx] - c[lo]) / (idx - lo)[:, None]
    return np.hstack([x, mean]).astype(np.float32)


def _pairs(songs, features: list[np.ndarray], *, context: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Annotated frames: features [n, d], targets [n, 2] (arousal, valence), song index [n]."""
    xs, ys, gs = [], [], []
    for g, (song, x) in enumerate(zip(songs, features)):
        if context:
            x = context_features(x)
        idx = annotation_frame_index(song.frame_times, len(x))
        xs.append(x[idx])
        ys.append(np.stack([song.arousal, song.valence], axis=1))
        gs.append(np.full(len(idx), g))
    return np.vstack(xs), np.vstack(ys), np.concatenate(gs)


def _fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_tests: list[np.ndarray], *, alpha: float):
    """Standardise with the training statistics, fit ridge, predict each test set."""

    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    model = Ridge(alpha=alpha).fit((x_train - mu) / sd, y_train)
    return [model.predict((x - mu) / sd) for x in x_tests]


ALPHAS = (10.0, 100.0, 1_000.0, 10_000.0, 100_000.0)


def select_alpha(x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, alphas=ALPHAS, n_folds: int = 4) -> float:
    """The ridge penalty with the best song-grouped cross-validated R^2 (mean over targets).

    Args:
        x: frame features. [shape=(n, n_features)]
        y: targets. [shape=(n, n_targets)]
        groups: song index of each frame, so no song is in two folds. [shape=(n,)]
        alphas: candidate penalties.
        n_folds: folds (fewer when there are fewer songs).
    """

    n_folds = min(n_folds, len(np.unique(groups)))
    if n_folds < 2:
        return float(alphas[len(alphas) // 2])
    scores = []
    for alpha in alphas:
        pred = np.zeros_like(y)
        for tr, te in GroupKFold(n_folds).split(x, y, groups):
            pred[te] = _fit_predict(x[tr], y[tr], [x[te]], alpha=alpha)[0]
        scores.append(np.mean(1 - ((pred - y) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)))
    return float(alphas[int(np.argmax(scores))])


def _real_songs(shared_data_dir: Path) -> list[tuple[str, Any]]:
    """(dataset, SongRecord) of the real clips with audio and dynamic annotations."""

    out = []
    for name, sub in (("emomusic", "emomusic"), ("pmemo", "pmemo/PMEmo2019")):
        root = shared_data_dir / sub
        if not root.is_dir():
            continue
        try:
            load = load_dataset(name, root, require_audio=True)
        except DatasetError:
            continue
        out += [(name, s) for s in load.songs
                if s.has_audio and s.arousal is not None and s.valence is not None and s.n_frames > 1]
    return out


def transfer_report(corpus_dir: str | os.PathLike, shared_data_dir: str | os.PathLike, *, progress: bool = True,
                    alpha: float | None = None, workers: int | None = None,
                    feature_set: str = FEATURE_SET) -> dict[str, Any]:
    """Train on the synthetic corpus, score on its test songs and on real clips.

    Args:
        corpus_dir: a corpus written by :func:`memo_core.data.synth.generate_corpus`.
        shared_data_dir: the folder holding ``emomusic/`` and ``pmemo/PMEmo2019/``
            (clips without audio are ignored).
        progress: show tqdm bars while extracting features.
        alpha: ridge penalty on standardised features; by default chosen per
            model from :data:`ALPHAS` by song-grouped cross-validation on the
            corpus's training songs (never on the real clips).
        workers: feature-extraction processes.
        feature_set: the 500 ms features the ridge models see; the loudness
            baseline always uses ``deam260``'s RMS energy.

    Returns:
        ``{"corpus": {...}, "real": {...}, "n_train_frames": int, ...}``; each of
        ``corpus`` and ``real`` maps ``"ridge"``, ``"ridge+context"`` and
        ``"loudness"`` to ``{"arousal": r, "valence": r}`` (pooled Pearson r);
        ``real_clips`` lists the clips used, with per-clip r of ``"ridge"``.

    Raises:
        DatasetError: the corpus has no train or test songs.
    """

    corpus = load_dataset("synth", Path(corpus_dir), require_audio=True)
    train = [s for s in corpus.songs if s.split in ("train", "validation")]
    test = [s for s in corpus.songs if s.split == "test"]
    if not train or not test:
        raise DatasetError(f"{corpus_dir}: the corpus needs train and test songs for a transfer report")
    real = _real_songs(Path(shared_data_dir))

    if abs(get_extractor(feature_set).frame_seconds - FRAME_SECONDS) > 1e-9:
        raise DatasetError(f"{feature_set} is not a 500 ms feature set; choose one of the per-frame sets (e.g. deam260)")
    groups = {"corpus train": [s.audio_path for s in train], "corpus test": [s.audio_path for s in test],
              "real clips": [s.audio_path for _, s in real]}
    feats = {k: frame_features(v, workers=workers, progress=progress, desc=k, feature_set=feature_set)
             for k, v in groups.items()}
    loud_idx = get_extractor(FEATURE_SET).feature_names.index(LOUDNESS_FEATURE)
    loud = {k: [f[:, [loud_idx]] for f in frame_features(v, workers=workers, progress=progress, desc=f"{k} (loudness)")]
            for k, v in groups.items()} if feature_set != FEATURE_SET else {
            k: [f[:, [loud_idx]] for f in v] for k, v in feats.items()}
    feats_train, feats_test, feats_real = feats["corpus train"], feats["corpus test"], feats["real clips"]

    report: dict[str, Any] = {"feature_set": feature_set, "alpha": {}, "context_frames": CONTEXT_FRAMES,
                              "n_train_songs": len(train), "n_test_songs": len(test), "corpus": {}, "real": {}}
    for context in (False, True):
        key = "ridge+context" if context else "ridge"
        x_tr, y_tr, g_tr = _pairs(train, feats_train, context=context)
        a = alpha if alpha is not None else select_alpha(x_tr, y_tr, g_tr)
        report["alpha"][key] = a
        x_te, y_te, _ = _pairs(test, feats_test, context=context)
        tests = [x_te]
        if real:
            x_re, y_re, g_re = _pairs([s for _, s in real], feats_real, context=context)
            tests.append(x_re)
        preds = _fit_predict(x_tr, y_tr, tests, alpha=a)
        report["n_train_frames"] = len(x_tr)
        report["corpus"][key] = {t: pearson_r(preds[0][:, j], y_te[:, j]) for j, t in enumerate(TARGETS)}
        if real:
            report["real"][key] = {t: pearson_r(preds[1][:, j], y_re[:, j]) for j, t in enumerate(TARGETS)}
            if not context:
                report["real_clips"] = [
                    {"dataset": d, "song_id": s.song_id, "n_frames": int((g_re == g).sum()),
                     **{t: pearson_r(preds[1][g_re == g, j], y_re[g_re == g, j]) for j, t in enumerate(TARGETS)}}
                    for g, (d, s) in enumerate(real)]
        if not context:
            # The one-feature baseline: RMS energy fitted on the corpus; its sign comes from the corpus.
            l_tr, _, _ = _pairs(train, loud["corpus train"], context=False)
            l_te, _, _ = _pairs(test, loud["corpus test"], context=False)
            l_re = _pairs([s for _, s in real], loud["real clips"], context=False)[0] if real else None
            single = _fit_predict(l_tr, y_tr, [l_te] + ([l_re] if real else []), alpha=1e-6)
            report["corpus"]["loudness"] = {t: pearson_r(single[0][:, j], y_te[:, j]) for j, t in enumerate(TARGETS)}
            if real:
                report["real"]["loudness"] = {t: pearson_r(single[1][:, j], y_re[:, j]) for j, t in enumerate(TARGETS)}
    report["n_real_clips"] = len(real)
    report["n_real_frames"] = int(sum(s.n_frames for _, s in real))
    return report


def format_transfer_report(report: dict[str, Any]) -> str:
    """The report as a small text table (one row per model, pooled Pearson r)."""
    alphas = ", ".join(f"{k} {v:g}" for k, v in report["alpha"].items())
    lines = [f"transfer report: {report['feature_set']} ridge (alpha {alphas}), trained on "
             f"{report['n_train_songs']} synthetic songs ({report['n_train_frames']} frames)",
             f"{'model':<16}{'corpus test A':>14}{'corpus test V':>14}{'real A':>9}{'real V':>9}"]
    for key in ("ridge", "ridge+context", "loudness"):
        c = report["corpus"].get(key, {})
        r = report["real"].get(key, {})
        cells = [c.get("arousal"), c.get("valence"), r.get("arousal"), r.get("valence")]
        txt = ["-" if v is None or v != v else f"{v:+.3f}" for v in cells]
        lines.append(f"{key:<16}{txt[0]:>14}{txt[1]:>14}{txt[2]:>9}{txt[3]:>9}")
    lines.append(f"real: {report['n_real_clips']} clips, {report['n_real_frames']} annotated frames (pooled r)")
    for clip in report.get("real_clips", []):
        lines.append(f"  {clip['dataset']} {clip['song_id']:>5}: ridge r arousal {clip['arousal']:+.3f}, "
                     f"valence {clip['valence']:+.3f} ({clip['n_frames']} frames)")
    return "\n".join(lines)
