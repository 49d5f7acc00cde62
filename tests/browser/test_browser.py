"""The dashboard in a real browser: Debian's chromium driven by npm's playwright-core (app.spec.mjs).

Starts ``streamlit run dashboard/app.py`` headless on a free localhost port, on the 4-song tiny corpus and a
private feature cache, then runs ``node tests/browser/app.spec.mjs``, which uploads a WAV, checks the Song page's
playhead (a click on a chart seeks the player; the cursor moves while it plays), its pinned colour scales (a
pixel) and its layout at 1400 x 900 (no clipped title, no truncated checkpoint chip), uploads a real recording
when ``../shared/data`` has an emoMusic clip, visits every page and fails on any page error. The Library page
opens a library of the tiny corpus (``MEMO_LIBRARY_DIR``), and a click on a song's marker there must open the
song on the Song page. Screenshots land in
``$MEMO_BROWSER_ARTIFACTS`` (default tests/browser/artifacts/).

Skipped (with the reason) where /usr/bin/chromium, node or tests/browser/node_modules/playwright-core is
missing; ``bash .ci/run`` installs them (``apt-get install chromium``, ``npm ci --prefix tests/browser``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests._helpers import REPO, SHARED_DATA, analysed_library

HERE = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("MEMO_BROWSER_CHROMIUM", "/usr/bin/chromium"))
SCRIPT = HERE / "app.spec.mjs"
#: the whole browser run: a first analysis of two songs and nine pages on two slow cores
SCRIPT_TIMEOUT_S = 900
SERVER_START_S = 120
#: A real recording the run uploads too, where ../shared/data has one (an emoMusic clip, 45 s).
REAL_CLIPS = SHARED_DATA / "emomusic" / "clips_45seconds"

pytestmark = pytest.mark.browser


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is absent (apt-get install chromium; .ci/run does)"
    if shutil.which("node") is None:
        return "node is absent"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "tests/browser/node_modules/playwright-core is absent (npm ci --prefix tests/browser; .ci/run does)"
    return None


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free localhost ports (held open together while chosen, so they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(port: int, env: dict, log: Path, *options: str) -> tuple[subprocess.Popen, Path]:
    """``streamlit run dashboard/app.py`` on localhost:``port``, in its own process group, logging to ``log``."""
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "localhost", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *options],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return server, log


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"streamlit did not answer {url}/_stcore/health in {SERVER_START_S} s:\n"
                f"{log.read_text(errors='replace')[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own process group: the server and nothing else
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _real_recording() -> str:
    """The first emoMusic clip in ../shared/data, or "" (then the run uploads the generated WAV only)."""
    found = sorted(REAL_CLIPS.glob("*.mp3"), key=lambda p: (len(p.stem), p.stem)) if REAL_CLIPS.is_dir() else []
    return str(found[0]) if found else ""


def test_every_page_in_chromium(request, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    tiny_corpus = request.getfixturevalue("tiny_corpus")  # only now: rendering it takes a while
    artifacts = Path(os.environ.get("MEMO_BROWSER_ARTIFACTS", HERE / "artifacts")).resolve()
    if artifacts.is_dir():
        for old in artifacts.glob("*.png"):
            old.unlink()
    artifacts.mkdir(parents=True, exist_ok=True)
    port, dark_port = _free_ports(2)
    url = f"http://localhost:{port}"
    # the Library page's library: the tiny corpus's songs, analysed by the cheapest checkpoint (a second
    # with the models loaded), opened by default through MEMO_LIBRARY_DIR
    library = analysed_library(sorted((tiny_corpus / "audio").glob("*.flac")), tmp_path / "LIBRARY")
    env = {**os.environ, "MEMO_DATA_DIR": str(tiny_corpus), "MEMO_CACHE_DIR": str(tmp_path / "cache"),
           "MEMO_LIBRARY_DIR": str(library),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"), "PYTHONUNBUFFERED": "1"}
    env.pop("MEMO_DATASET_ROOTS", None)
    servers = []
    try:
        server, server_log = _start(port, env, artifacts / "streamlit.log")
        servers.append(server)
        dark, dark_log = _start(dark_port, env, artifacts / "streamlit-dark.log", "--theme.base", "dark")
        servers.append(dark)
        _wait_healthy(url, server, server_log)
        _wait_healthy(f"http://localhost:{dark_port}", dark, dark_log)
        started = time.monotonic()
        node = subprocess.Popen(["node", str(SCRIPT)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True,
                                env={**env, "MEMO_BROWSER_URL": url, "MEMO_BROWSER_ARTIFACTS": str(artifacts),
                                     "MEMO_BROWSER_CHROMIUM": str(CHROMIUM),
                                     "MEMO_BROWSER_REAL_AUDIO": _real_recording(),
                                     "MEMO_BROWSER_DARK_URL": f"http://localhost:{dark_port}"})
        try:
            stdout, stderr = node.communicate(timeout=SCRIPT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop(node)  # node and the chromium it started
            stdout, stderr = node.communicate()
            pytest.fail(f"the browser run took over {SCRIPT_TIMEOUT_S} s:\n{stdout}\n{stderr}")
        finally:
            _stop(node)
        print(stdout)
        print(f"browser run: {time.monotonic() - started:.0f} s; screenshots in {artifacts}")
    finally:
        for process in servers:
            _stop(process)
    if node.returncode != 0:
        pytest.fail(f"the browser found problems (screenshots and streamlit.log in {artifacts}):\n"
                    f"{stderr[-12000:]}\n--- script output ---\n{stdout[-6000:]}\n--- streamlit log ---\n"
                    f"{server_log.read_text(errors='replace')[-4000:]}")
