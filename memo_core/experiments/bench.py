"""``python -m memo_core bench``: how fast MEMO extracts, predicts, analyses a song and trains.

Sections (``--sections``, all by default):

``features``
    every extractor on 30 s, 4 min and 10 min of the seeded music-like signal
    of :func:`memo_core.experiments.bench_features.bench_audio`, cold (empty cache) and
    from the cache (:func:`memo_core.experiments.bench_features.run_feature_bench`).
``inference``
    per default checkpoint: the time to load its file, and the time to
    normalise, run the model and collect its explanation maps on a 45 s and a
    4 min song, features excluded (best of ``repeats`` runs), with one torch
    thread (as analyse_song runs models) and with torch's default count.
``analysis``
    :func:`memo_core.explain.analysis.analyse_song` with every default checkpoint on a
    45 s clip and a 4 min song, each in a fresh subprocess: the checkpoints are
    loaded and one 2 s song analysed first (imports, numba compilation,
    openSMILE and oneDNN set-up are a running app's, not a new song's), then
    "cold" (empty feature and result caches) and "cached" (the same song
    again). Wall and CPU seconds, and the process's peak resident memory
    (``VmHWM``, else ``ru_maxrss``: torch's allocations included, which
    tracemalloc does not see).
``training``
    one optimiser step (forward, backward, step) per default model at its
    paper's batch size, on SYNTHETIC inputs of the real shapes (random
    features, not extracted ones: extraction is timed above): songs of 90
    frames (45 s), or the model's training window, and 1400 mel frames for
    the taggers. One untimed step first, then the median of ``steps``.

The targets for a 2-core CPU (:data:`TARGETS`) are shown with the measured
figure and whether each is met; they are not asserted anywhere. On a shared or
loaded machine wall times grow while CPU times do not: the report records the
load average at the start and the end.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as _dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from memo_core.audio import Audio
from memo_core.data.sequences import SequenceExample
from memo_core.data.tags import TagExample
from memo_core.errors import MemoError
from memo_core.experiments.bench_features import bench_audio, run_feature_bench
from memo_core.experiments.library.bench import bench_library
from memo_core.explain.analysis import analyse_song, one_torch_thread
from memo_core.explain.explanation import explain_features
from memo_core.features import extract, get_extractor
from memo_core.features.cache import CACHE_ENV
from memo_core.fileio import atomic_write
from memo_core.models.registry import get_model, model_class, model_config
from memo_core.pretrained import (
    DEFAULT_SET,
    MANIFEST_NAME,
    load_default_checkpoints,
    read_manifest,
)
from memo_core.training.checkpoints import load_checkpoint
from memo_core.training.loop import (
    OPTIMIZERS,
    objective,
    resolve_train_config,
    train_step,
)

__all__ = [
    "SECTIONS",
    "TARGETS",
    "bench_inference",
    "bench_analysis",
    "bench_training",
    "target_rows",
    "run_benchmark",
    "format_report",
    "write_json",
]

SECTIONS = ("features", "inference", "analysis", "training", "library")



BENCH_FORMAT = "memo-bench"



BENCH_VERSION = 1



#: What a 2-core CPU should manage (seconds, MB): shown against the measured figures, never asserted.
TARGETS = {
    "short_cold_s": 10.0,      # a new 45 s song fully analysed
    "short_cached_s": 1.0,     # the same song again
    "long_cold_s": 30.0,       # a new 4 min song
    "linear_slack": 1.2,       # cold(4 min) / cold(45 s) at most this times 240 / 45
    "peak_rss_mb": 2048.0,     # peak resident memory of the analysing process
}



_TRAIN_FRAMES = 90  # a 45 s song of the synthetic corpus at 2 Hz



_ANNOTATED_FROM = 30  # annotations start at 15 s, as in DEAM and the synthetic corpus



def _bar(total: int, desc: str, progress: bool):

    return tqdm(total=total, desc=desc, unit="run", disable=not progress, leave=False)



def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime



def _torch_threads() -> int:

    return torch.get_num_threads()



def _peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux: ``VmHWM`` of ``/proc/self/status``, the peak of this program's
    memory. ``ru_maxrss`` would not do in a subprocess: Linux carries the
    parent's resident size at fork over ``exec``, so a child of a big process
    would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux



def _extractor_of(ckpt):

    spec = ckpt.feature_spec
    return get_extractor(spec["name"], **(spec.get("params") or {}))



def bench_inference(folder: str | Path, *, song_durations: Sequence[float] = (45.0, 240.0), repeats: int = 2,
                    keys: Sequence[str] | None = None, progress: bool = False) -> list[dict]:
    """Load time and forward time (with every map) of each checkpoint in a default-set folder.

    Features are extracted once per feature set and duration, outside the timing.

    Returns:
        One row a checkpoint: ``checkpoint, model, preset, features, n_parameters,
        load_s``, and for each duration ``D`` (best of ``repeats``)
        ``forward_<D>s_s`` with one torch thread (as analyse_song runs models)
        and ``forward_<D>s_default_threads_s`` with torch's thread count; or
        ``problem`` for a checkpoint that did not load or run.
    """

    folder = Path(folder)
    entries = {e["key"]: e for e in read_manifest(folder)["checkpoints"]}
    loaded, problems = load_default_checkpoints(folder, keys=keys)
    rows: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if loaded:  # the first load pays for imports: untimed
            load_checkpoint(folder / entries[next(iter(loaded))]["file"])
        for key in loaded:
            entry = entries[key]
            started = time.perf_counter()
            load_checkpoint(folder / entry["file"])
            rows[key] = {"checkpoint": key, "model": entry.get("model"), "preset": entry.get("preset"),
                         "features": entry.get("features"), "n_parameters": entry.get("n_parameters"),
                         "load_s": time.perf_counter() - started}
    bar = _bar(len(song_durations) * len(loaded), "bench-inference", progress)
    for duration in song_durations:
        audio = bench_audio(duration_s=float(duration))
        features: dict[str, np.ndarray] = {}
        for key, ckpt in loaded.items():
            extractor = _extractor_of(ckpt)
            fid = json.dumps([extractor.name, extractor.params], sort_keys=True, default=str)
            try:
                if fid not in features:
                    features[fid] = extract(audio, extractor.name, cache=False, **extractor.params)
                for column, one_thread in ((f"forward_{duration:g}s_s", True),
                                           (f"forward_{duration:g}s_default_threads_s", False)):
                    times = []
                    with one_torch_thread() if one_thread else contextlib.nullcontext():
                        for _ in range(max(1, int(repeats))):
                            started = time.perf_counter()
                            explain_features(ckpt, features[fid], source=audio.source,
                                             frame_seconds=extractor.frame_seconds)
                            times.append(time.perf_counter() - started)
                    rows[key][column] = min(times)
            except Exception as exc:  # one model failing is a row, not the end of the benchmark
                rows[key]["problem"] = f"{type(exc).__name__}: {exc}"
            bar.update(1)
        features.clear()
    bar.close()
    out = [rows[k] for k in loaded]
    out += [{"checkpoint": k, "problem": why} for k, why in problems.items()]
    return out



def _analysis_worker(options: dict[str, Any]) -> dict[str, Any]:
    """One analysis measurement; runs in a fresh process (see :func:`bench_analysis`)."""


    warnings.simplefilter("ignore")
    if options.get("torch_threads"):

        torch.set_num_threads(int(options["torch_threads"]))
    started = time.perf_counter()
    loaded, problems = load_default_checkpoints(options["folder"], keys=options.get("keys"))
    load_s = time.perf_counter() - started
    if not loaded:
        raise MemoError(f"no checkpoint loaded from {options['folder']}: {problems}")
    workers = options.get("workers")
    scratch = Path(tempfile.mkdtemp(prefix="memo-bench-analysis-"))
    try:
        os.environ[CACHE_ENV] = str(scratch / "warm")
        analyse_song(bench_audio(duration_s=2.0, seed=99), loaded, workers=workers)
        baseline_mb = _peak_rss_mb()
        os.environ[CACHE_ENV] = str(scratch / "cold")  # empty feature and result caches
        # The song comes from a file, as in the app: generating it here would put the test signal's
        # float64 temporaries (about 800 MB for 4 min) into the peak memory.
        audio = Audio(np.load(options["audio"]), int(options["sample_rate"]), f"bench-{options['duration_s']:g}s")
        audio.content_hash()  # hashing belongs to loading the song
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        cold = analyse_song(audio, loaded, workers=workers)
        cold_s, cold_cpu_s = time.perf_counter() - t0, _cpu_seconds() - cpu0
        t0 = time.perf_counter()
        again = analyse_song(audio, loaded, workers=workers)
        cached_s = time.perf_counter() - t0
        peak_mb = _peak_rss_mb()
        cache_mb = sum(p.stat().st_size for p in (scratch / "cold").rglob("*") if p.is_file()) / 2**20
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summed = lambda prefix: sum(v for k, v in cold.timings.items() if k.startswith(prefix))  # noqa: E731
    return {
        "duration_s": float(options["duration_s"]),
        "n_checkpoints": len(loaded),
        "workers": workers,
        "torch_threads": _torch_threads(),
        "load_checkpoints_s": load_s,
        "cold_s": cold_s,
        "cold_cpu_s": cold_cpu_s,
        "features_s": summed("features "),  # steps summed: they overlap on the threads
        "models_s": summed("model "),
        "cached_s": cached_s,
        "served_from_cache": len(again.cached),
        "x_realtime_cold": float(options["duration_s"]) / cold_s,
        "peak_rss_mb": peak_mb,
        "rss_before_mb": baseline_mb,
        "rss_delta_mb": peak_mb - baseline_mb,
        "cache_mb": cache_mb,
        "steps": {k: v for k, v in cold.timings.items() if k != "total"},
        "problems": {**problems, **cold.problems},
    }



def bench_analysis(folder: str | Path, *, song_durations: Sequence[float] = (45.0, 240.0),
                   keys: Sequence[str] | None = None, workers: int | None = None, torch_threads: int | None = None,
                   progress: bool = False, timeout_s: float = 1800.0) -> list[dict]:
    """``analyse_song`` with every checkpoint of a default-set folder, cold and cached, one fresh process a song.

    ``workers`` is analyse_song's extraction threads; ``torch_threads`` the
    subprocess's ``torch.set_num_threads`` (default: this process's setting).

    Returns:
        One row a duration: ``duration_s, n_checkpoints, workers, load_checkpoints_s,
        cold_s, cold_cpu_s, features_s, models_s, cached_s, served_from_cache,
        x_realtime_cold, peak_rss_mb, rss_before_mb, rss_delta_mb, cache_mb,
        steps, problems`` (``error`` instead when the process failed).
    """

    repo = str(Path(__file__).resolve().parents[2])  # the repository root, above memo_core/
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([repo] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    rows = []
    bar = _bar(len(song_durations), "bench-analysis", progress)
    for duration in song_durations:
        with tempfile.TemporaryDirectory(prefix="memo-bench-") as tmp:
            out = Path(tmp) / "row.json"
            song = bench_audio(duration_s=float(duration))
            np.save(Path(tmp) / "song.npy", song.samples)
            options = {"folder": str(folder), "duration_s": float(duration), "keys": list(keys) if keys else None,
                       "workers": workers, "torch_threads": torch_threads or _torch_threads(), "out": str(out),
                       "audio": str(Path(tmp) / "song.npy"), "sample_rate": song.sample_rate}
            del song
            proc = subprocess.run([sys.executable, "-m", "memo_core.experiments.bench", "--analysis-worker", json.dumps(options)],
                                  capture_output=True, text=True, env=env, timeout=timeout_s)
            if proc.returncode == 0 and out.is_file():
                rows.append(json.loads(out.read_text()))
            else:
                rows.append({"duration_s": float(duration),
                             "error": (proc.stderr or proc.stdout or "no output").strip()[-2000:]})
        bar.update(1)
    bar.close()
    return rows



def _synthetic_examples(model, n: int, config, rng: np.random.Generator) -> list:
    """``n`` random examples shaped as the model trains on (see the module docstring)."""
    if getattr(model, "task", "regression") == "tagging":

        frames = int(getattr(model.config, "input_frames", 1400))
        n_tags = int(model.n_targets)
        names = tuple(f"tag{i}" for i in range(n_tags))
        examples = []
        for i in range(n):
            tags = (rng.random(n_tags) < 0.2).astype(np.float32)
            tags[i % n_tags] = 1.0
            examples.append(TagExample(f"bench{i}", rng.standard_normal((frames, model.n_features)).astype(np.float32),
                                       tags, names, get_extractor("mel96").frame_seconds))
        return examples

    frames = int(config.segment_frames or _TRAIN_FRAMES)
    mask = np.arange(frames) >= min(_ANNOTATED_FROM, frames // 2)
    return [SequenceExample(f"bench{i}", rng.standard_normal((frames, model.n_features)).astype(np.float32),
                            rng.uniform(-0.5, 0.5, (frames, model.n_targets)).astype(np.float32) * mask[:, None],
                            mask.copy(), np.arange(frames) * 0.5,
                            tuple(("valence", "arousal")[:model.n_targets]) if model.n_targets <= 2
                            else tuple(f"target{j}" for j in range(model.n_targets)))
            for i in range(n)]



def _fresh_model(spec, ckpt):
    """An untrained-state copy of the checkpoint's model, else the spec's model sized to its features."""


    if ckpt is not None:
        return copy.deepcopy(ckpt.model)
    cls = model_class(spec.model)
    features = spec.features or cls.default_features
    sizes: dict[str, Any] = {"n_features": get_extractor(features).n_features}
    fields = {f.name for f in dataclasses.fields(model_config(spec.model, spec.preset))}
    if getattr(cls, "task", "regression") == "regression":
        sizes["n_targets"] = 2
        if "target_names" in fields:
            sizes["target_names"] = ("valence", "arousal")
    return get_model(spec.model, spec.preset, **sizes)



def bench_training(*, folder: str | Path | None = None, keys: Sequence[str] | None = None, steps: int = 2,
                   warmup: int = 1, batch_size: int | None = None, progress: bool = False, seed: int = 0
                   ) -> list[dict]:
    """One training step per default model at its paper's batch size, on synthetic inputs of the real shapes.

    Args:
        folder: a default-set folder whose checkpoints give the exact sizes
            (tag count, features); without one, the models of
            :data:`~memo_core.pretrained.DEFAULT_SET` sized from their feature sets.
        keys: only these default keys.
        steps: timed steps (median reported).
        warmup: untimed steps first (one-time set-up of the optimiser state and oneDNN).
        batch_size: override every model's batch size (tests).

    Returns:
        One row a model: ``checkpoint, model, preset, features, batch_size,
        input_shape, step_s, examples_per_s`` (``problem`` when it failed).
    """


    specs = [s for s in DEFAULT_SET if not keys or s.key in keys]
    loaded = {}
    if folder is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded, _ = load_default_checkpoints(folder, keys=[s.key for s in specs])
        specs = [s for s in specs if s.key in loaded]
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    rows = []
    bar = _bar(len(specs), "bench-training", progress)
    for spec in specs:
        row: dict[str, Any] = {"checkpoint": spec.key, "model": spec.model, "preset": spec.preset}
        try:
            model = _fresh_model(spec, loaded.get(spec.key))
            config = resolve_train_config(model, **({"batch_size": batch_size} if batch_size else {}))
            row["features"] = (loaded[spec.key].feature_spec["name"] if spec.key in loaded
                               else spec.features or getattr(model, "default_features", None))
            row["batch_size"] = int(config.batch_size)
            examples = _synthetic_examples(model, int(config.batch_size), config, rng)
            make = getattr(model, "make_batch", None)
            batch = make(examples, device="cpu")
            row["input_shape"] = list(batch.x.shape)
            params = [p for p in model.parameters() if p.requires_grad]
            optimizer = OPTIMIZERS[config.optimizer](params, config.lr, config.weight_decay)
            loss_fn = objective(model, config)
            model.train()
            times = []
            for i in range(max(0, int(warmup)) + max(1, int(steps))):
                started = time.perf_counter()
                train_step(model, batch, loss_fn=loss_fn, optimizer=optimizer, params=params, config=config)
                if i >= max(0, int(warmup)):
                    times.append(time.perf_counter() - started)
            row["step_s"] = statistics.median(times)
            row["examples_per_s"] = row["batch_size"] / row["step_s"]
        except Exception as exc:  # one model failing is a row, not the end of the benchmark
            row["problem"] = f"{type(exc).__name__}: {exc}"
        rows.append(row)
        bar.update(1)
    bar.close()
    return rows



def target_rows(analysis: Sequence[dict], *, short_s: float | None = None, long_s: float | None = None
                ) -> list[dict]:
    """The :data:`TARGETS` against the analysis rows: ``target, goal, measured, unit, met``.

    ``short_s`` and ``long_s`` pick the clip and the song (default: the
    shortest and the longest duration measured; the targets are set for 45 s
    and 240 s; a single duration counts as the clip up to 2 minutes, else as
    the song). A target without a measurement has ``measured`` and ``met``
    ``None``.
    """
    good = {float(r["duration_s"]): r for r in analysis if "cold_s" in r}
    durations = sorted(good)
    if short_s is None and long_s is None and len(durations) == 1:
        short_s, long_s = (durations[0], None) if durations[0] <= 120 else (None, durations[0])
    elif durations:
        short_s = durations[0] if short_s is None else short_s
        long_s = durations[-1] if long_s is None else long_s
    short = good.get(float(short_s)) if short_s is not None else None
    long = good.get(float(long_s)) if long_s is not None else None
    short_s = short_s if short_s is not None else 45.0
    long_s = long_s if long_s is not None else 240.0

    def row(target: str, goal: str, measured: float | None, ok: bool, unit: str) -> dict:
        return {"target": target, "goal": goal, "measured": measured, "unit": unit,
                "met": None if measured is None else bool(ok)}

    rows = [
        row(f"a new {short_s:g} s song fully analysed, cold", f"< {TARGETS['short_cold_s']:g} s",
            short and short["cold_s"], short and short["cold_s"] < TARGETS["short_cold_s"], "s"),
        row(f"the same {short_s:g} s song again, cached", f"< {TARGETS['short_cached_s']:g} s",
            short and short["cached_s"], short and short["cached_s"] < TARGETS["short_cached_s"], "s"),
        row(f"a new {long_s:g} s song fully analysed, cold", f"< {TARGETS['long_cold_s']:g} s",
            long and long["cold_s"], long and long["cold_s"] < TARGETS["long_cold_s"], "s"),
    ]
    expected = long_s / short_s
    ratio = long["cold_s"] / short["cold_s"] if short and long and long is not short else None
    rows.append(row(f"cost linear in length: cold {long_s:g} s / cold {short_s:g} s",
                    f"<= {TARGETS['linear_slack']:g} x {expected:.2f} (= {long_s:g} / {short_s:g})",
                    ratio, ratio is not None and ratio <= TARGETS["linear_slack"] * expected, "x"))
    peak = max((r["peak_rss_mb"] for r in good.values()), default=None)
    rows.append(row("peak memory of the analysing process", f"< {TARGETS['peak_rss_mb']:g} MB", peak,
                    peak is not None and peak < TARGETS["peak_rss_mb"], "MB"))
    return rows



def _machine() -> dict[str, Any]:

    return {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version()}



def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None



def run_benchmark(
    *,
    sections: Sequence[str] = SECTIONS,
    feature_durations: Sequence[float] = (30.0, 240.0, 600.0),
    feature_names: Sequence[str] | None = None,
    song_durations: Sequence[float] = (45.0, 240.0),
    checkpoints: str | Path | None = None,
    keys: Sequence[str] | None = None,
    workers: int | None = None,
    torch_threads: int | None = None,
    repeats: int = 2,
    training_steps: int = 2,
    training_batch_size: int | None = None,
    progress: bool = False,
    on_section=None,
    library_songs: int = 40,
    library_duration_s: float = 45.0,
    library_keys: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the chosen sections and return the report (what ``--json`` writes).

    Args:
        sections: any of :data:`SECTIONS`.
        feature_durations, feature_names: the feature section's lengths and extractors.
        song_durations: the inference and analysis sections' song lengths (the targets: 45 and 240).
        checkpoints: a default-set folder (with ``manifest.json``); ``None`` or a
            folder without a manifest skips inference and analysis (noted in the report).
        keys: only these checkpoint keys.
        workers: feature-extraction threads for the analysis (default: analyse_song's).
        torch_threads: ``torch.set_num_threads`` for every section (default: torch's own choice).
        repeats: inference runs per checkpoint and song (best reported).
        training_steps, training_batch_size: see :func:`bench_training`.
        progress: tqdm bars on stderr.
        on_section: called with ``(name, rows)`` as each section finishes.
        library_songs, library_duration_s, library_keys: the library section's generated collection and
            checkpoints (:func:`memo_core.experiments.library.bench.bench_library`, 1 and 2 workers).

    Returns:
        ``{"format", "version", "created", "machine", "load_average_start",
        "load_average_end", "checkpoints", "notes", <section>: rows ...,
        "targets": rows}`` (``targets`` when the analysis ran).
    """

    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise MemoError(f"unknown bench section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    report: dict[str, Any] = {
        "format": BENCH_FORMAT, "version": BENCH_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "machine": dict(_machine(), torch_threads=int(torch_threads or _torch_threads())),
        "load_average_start": _load(), "notes": [], "checkpoints": None,
    }
    folder = Path(checkpoints).expanduser() if checkpoints is not None else None
    have_set = folder is not None and (folder / MANIFEST_NAME).is_file()
    if have_set:
        manifest = read_manifest(folder)
        report["checkpoints"] = {"folder": str(folder), "created": manifest.get("created"),
                                 "keys": [e["key"] for e in manifest["checkpoints"] if not keys or e["key"] in keys]}
    elif any(s in sections for s in ("inference", "analysis")):
        report["notes"].append(f"no {MANIFEST_NAME} in {folder}: inference and analysis skipped (train the defaults "
                               "with `python -m memo_core train-defaults`, or pass --quick-defaults)")

    def done(name: str, rows: list[dict]) -> None:
        report[name] = rows
        if on_section is not None:
            on_section(name, rows)


    previous_threads = torch.get_num_threads()
    if torch_threads:
        torch.set_num_threads(int(torch_threads))
    try:
        for section in SECTIONS:
            if section not in sections:
                continue
            if section == "features":
                done(section, run_feature_bench(durations=feature_durations, names=feature_names,
                                                progress=progress))
            elif section == "inference" and have_set:
                done(section, bench_inference(folder, song_durations=song_durations, repeats=repeats, keys=keys,
                                              progress=progress))
            elif section == "analysis" and have_set:
                rows = bench_analysis(folder, song_durations=song_durations, keys=keys, workers=workers,
                                      torch_threads=torch_threads, progress=progress)
                done(section, rows)
                done("targets", target_rows(rows))
            elif section == "library":
                done(section, bench_library(folder if have_set else None, keys=library_keys, n_songs=library_songs,
                                            duration_s=library_duration_s, progress=progress))
            elif section == "training":
                done(section, bench_training(folder=folder if have_set else None, keys=keys, steps=training_steps,
                                             batch_size=training_batch_size, progress=progress))
    finally:
        torch.set_num_threads(previous_threads)
    report["load_average_end"] = _load()
    return report



def _table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """Rows as an aligned text table; ``columns`` are ``(key, header, format)``."""
    def cell(row, key, fmt):
        value = row.get(key)
        if value is None:
            return "-"
        if isinstance(value, float) and not np.isfinite(value):
            return "-"
        return format(value, fmt) if fmt else str(value)

    body = [[cell(r, k, f) for k, _, f in columns] for r in rows]
    widths = [max([len(h)] + [len(b[i]) for b in body]) for i, (_, h, _) in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((_, h, _), w) in enumerate(zip(columns, widths)))]
    lines.append("-" * len(lines[0]))
    for b in body:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(b, widths))))
    return "\n".join(lines)



def format_section(name: str, rows: Sequence[dict]) -> str:
    """One section's rows as a titled text table."""
    if name == "features":
        cols = [("feature", "feature", ""), ("duration_s", "audio (s)", ".0f"), ("cold_s", "cold (s)", ".3f"),
                ("x_realtime_cold", "x realtime", ".0f"), ("cached_s", "cached (s)", ".4f"),
                ("x_realtime_cached", "x realtime cached", ".0f")]
        title = "Feature extraction (cold = empty cache)"
    elif name == "inference":
        fwd = sorted({k for r in rows for k in r if k.startswith("forward_") and "default_threads" not in k},
                     key=lambda k: float(k[len("forward_"):-len("s_s")]))
        cols = [("checkpoint", "checkpoint", ""), ("model", "model", ""), ("features", "features", ""),
                ("n_parameters", "params", ",d"), ("load_s", "load (s)", ".3f")]
        cols += [(k, f"forward {k[len('forward_'):-len('s_s')]} s (s)", ".3f") for k in fwd]
        cols += [(k.replace("s_s", "s_default_threads_s"),
                  f"{k[len('forward_'):-len('s_s')]} s, {_torch_threads()} threads", ".3f") for k in fwd]
        cols += [("problem", "problem", "")]
        title = ("Inference per checkpoint (normalise + model + every map; features excluded; best of repeats; "
                 "1 torch thread as analyse_song runs it, then torch's default)")
    elif name == "analysis":
        cols = [("duration_s", "song (s)", ".0f"), ("n_checkpoints", "checkpoints", "d"),
                ("cold_s", "cold (s)", ".2f"), ("cold_cpu_s", "cold CPU (s)", ".2f"),
                ("features_s", "features, summed (s)", ".2f"), ("models_s", "models, summed (s)", ".2f"),
                ("cached_s", "cached (s)", ".3f"), ("peak_rss_mb", "peak RSS (MB)", ".0f"),
                ("rss_delta_mb", "RSS rise (MB)", ".0f"), ("cache_mb", "cache (MB)", ".1f"), ("error", "error", "")]
        title = "Analyse a song (analyse_song, every checkpoint; fresh process; checkpoints loaded)"
        slow = []
        for r in rows:
            steps = sorted((r.get("steps") or {}).items(), key=lambda kv: -kv[1])[:6]
            if steps:
                slow.append(f"  {r['duration_s']:g} s, longest steps: " + ", ".join(f"{k} {v:.2f}" for k, v in steps))
            if r.get("problems"):
                slow.append(f"  {r['duration_s']:g} s, problems: {r['problems']}")
        return f"{title}\n{_table(rows, cols)}" + ("\n" + "\n".join(slow) if slow else "")
    elif name == "training":
        cols = [("checkpoint", "checkpoint", ""), ("model", "model", ""), ("batch_size", "batch", "d"),
                ("input_shape", "input", ""), ("step_s", "step (s)", ".3f"), ("examples_per_s", "examples/s", ".1f"),
                ("problem", "problem", "")]
        title = "Training step (forward + backward + optimiser step; synthetic inputs of the real shapes)"
    elif name == "library":
        cols = [("workers", "workers", "d"), ("songs", "songs", "d"), ("song_s", "song (s)", ".0f"),
                ("wall_s", "wall (s)", ".1f"), ("songs_per_min", "songs/min", ".1f"), ("speedup", "speed-up", ".2f"),
                ("task_median_s", "task median (s)", ".2f"), ("overhead_per_task_s", "overhead/task (s)", ".2f"),
                ("steady_songs_per_min", "songs/min warm", ".1f"), ("startup_s", "cluster start (s)", ".1f"),
                ("scheduler_ms_per_task", "scheduler/task (ms)", ".1f"), ("peak_rss_mb_max", "peak RSS/worker (MB)", ".0f")]
        title = ("Library analysis on Dask (library analyse: fresh LocalCluster per row, start-up and warm-up "
                 f"included; checkpoints {rows[0]['checkpoints'] if rows else '-'})")
    elif name == "targets":
        shown = [dict(r, measured_text="-" if r["measured"] is None else f"{r['measured']:.2f} {r['unit']}",
                      met_text={True: "met", False: "MISSED", None: "not measured"}[r["met"]]) for r in rows]
        cols = [("target", "target (2-core CPU)", ""), ("goal", "goal", ""), ("measured_text", "measured", ""),
                ("met_text", "met", "")]
        return f"Targets\n{_table(shown, cols)}"
    else:
        raise MemoError(f"no table for bench section {name!r}")
    cols = [c for c in cols if any(c[0] in r for r in rows) or c[0] not in ("problem", "error")]
    return f"{title}\n{_table(rows, cols)}"



def format_report(report: dict[str, Any]) -> str:
    """The whole report as text: machine and load, each section's table, the targets."""
    lines = [f"MEMO benchmark, {report['created']}: {report['machine']['machine']}, "
             f"{report['machine']['cpu_count']} cores, torch {report['machine']['torch_threads']} threads; "
             f"load average {report.get('load_average_start')} -> {report.get('load_average_end')}"]
    lines += [f"note: {n}" for n in report.get("notes", [])]
    for name in (*SECTIONS, "targets"):
        if name in report:
            lines += ["", format_section(name, report[name])]
    return "\n".join(lines)



def write_json(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report as JSON atomically (:func:`memo_core.fileio.atomic_write`)."""

    return atomic_write(Path(path).expanduser(),
                        lambda handle: (json.dump(report, handle, indent=2, default=float), handle.write("\n")))



def _worker_main(argv: Sequence[str]) -> int:
    """``python -m memo_core.experiments.bench --analysis-worker JSON``: one analysis measurement, written to JSON["out"]."""
    if len(argv) != 2 or argv[0] != "--analysis-worker":
        print("usage: python -m memo_core.experiments.bench --analysis-worker JSON (internal; use `python -m memo_core bench`)",
              file=sys.stderr)
        return 2
    options = json.loads(argv[1])
    row = _analysis_worker(options)
    write_json(row, options["out"])
    return 0



if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
