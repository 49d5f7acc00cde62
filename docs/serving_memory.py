"""How much memory the dashboard's song analyses take in the app's own process: the figures of the README's
*Serving MEMO: faults and abuse*. Run from the repository root:

    OMP_NUM_THREADS=1 MEMO_MAX_ANALYSES=2 PYTHONPATH=. python docs/serving_memory.py SONG [SONG ...]

It loads the checkpoint set as the app does (``dashboard.resources``; ``$MEMO_CHECKPOINTS_DIR`` or the shipped
``checkpoints/``) and analyses a 2 s warm-up song (imports, numba compilation and openSMILE set-up belong to a
running app, not to a song). Then it analyses each SONG as the app analyses an upload
(``resources.analyse(..., on_disk=False)``): one at a time, then all of them at once from one thread each, as that
many sessions would, through the app's analysis slots (``$MEMO_MAX_ANALYSES``). For each run it prints how far
the process's peak resident memory rose above its resting size just before (Linux: ``VmHWM``, reset through
``/proc/self/clear_refs`` before each run).
"""

from __future__ import annotations

import gc
import hashlib
import logging
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (this script needs Linux)")


def _reset_peak() -> float:
    """Reset the peak resident size to the current one; the resting size in MB."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def main(paths: list[str]) -> None:
    from dashboard import resources

    warnings.simplefilter("ignore")
    # threads outside a Streamlit run: the app's analyses without a page, which Streamlit warns about every call
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)
    loaded, problems = resources.checkpoints()
    keys = tuple(loaded)
    print(f"{len(keys)} checkpoints loaded ({len(problems)} not); analysis slots: {resources._slots().limit}")
    tone = (0.3 * np.sin(np.arange(2 * 22_050) / 10.0)).astype(np.float32)
    resources.analyse("warm-up", resources.Audio(tone, 22_050, "warm-up"), keys, on_disk=False)
    songs = []
    for path in paths:
        data = Path(path).read_bytes()
        songs.append((hashlib.sha256(data).hexdigest(), resources.load_audio(data, name=Path(path).name)))

    for key, audio in songs:
        resources._analyses.clear()
        resting = _reset_peak()
        started = time.perf_counter()
        resources.analyse(key, audio, keys, on_disk=False)
        print(f"{audio.source} ({audio.duration:.0f} s) alone: {time.perf_counter() - started:.1f} s, "
              f"resting {resting:.0f} MB, peak {_status_mb('VmHWM'):.0f} MB (+{_status_mb('VmHWM') - resting:.0f} MB)")

    if len(songs) > 1:
        resources._analyses.clear()
        resting = _reset_peak()
        started = time.perf_counter()
        threads = [threading.Thread(target=resources.analyse, args=(key, audio, keys), kwargs={"on_disk": False})
                   for key, audio in songs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"{len(songs)} songs at once ({resources._slots().limit} slots): {time.perf_counter() - started:.1f} s, "
              f"resting {resting:.0f} MB, peak {_status_mb('VmHWM'):.0f} MB (+{_status_mb('VmHWM') - resting:.0f} MB)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
