"""What the dashboard tests share: opening a page, test songs, reading what a page shows."""

from __future__ import annotations

import io
import json

import numpy as np
import soundfile as sf
from streamlit.testing.v1 import AppTest

from tests._helpers import REPO, copy_checkpoint_subset  # noqa: F401 - the dashboard tests import it here

APP = str(REPO / "dashboard" / "app.py")



#: The first run imports librosa, torch and plotly and may analyse a song with every checkpoint (3 s is far too short).
TIMEOUT = 240



#: The manifest keys ``validate-real`` adds to an entry (stripped from the copy before a test adds its own).
REAL_KEYS = ("validation_real", "training_sources", "tag_spread")



#: The shipped checkpoints a dashboard test gets unless its module sets ``CHECKPOINT_KEYS`` (tests/dashboard/
#: conftest.py): one per-frame regressor that every page can show (MCA), an attentive one (AT) and a tagger, on
#: two feature sets (deam260_tonal, mel96). Every uploaded or new song is analysed by every loaded checkpoint,
#: so each checkpoint (above all each feature set) left out saves time on every such song; the full shipped
#: set is analysed in tests/dashboard/test_full_checkpoint_set.py and by the modules that set ``None``.
DEFAULT_CHECKPOINT_KEYS = ("mca", "at", "vggish_sa3")



def open_page(page: str | None = None) -> AppTest:
    """Run the app (default page: Song, on the corpus's first song), then switch to ``app_pages/<page>.py``."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page is not None and page != "song":
        app.switch_page(f"app_pages/{page}.py").run()
    return app



def song_wav(seconds: float = 12.0, sample_rate: int = 22_050, *, silent: bool = False) -> bytes:
    """A short generated song as WAV bytes: a rising chord with a beat (or silence)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    if silent:
        y = np.zeros_like(t)
    else:
        freq = 220.0 * (1 + t / seconds)
        y = 0.2 * (np.sin(2 * np.pi * freq * t) + 0.5 * np.sin(2 * np.pi * 1.5 * freq * t))
        y *= 0.6 + 0.4 * (np.sin(2 * np.pi * 2.0 * t) > 0)
    buf = io.BytesIO()
    sf.write(buf, y.astype(np.float32), sample_rate, format="WAV")
    return buf.getvalue()



def upload(app: AppTest, name: str, data: bytes, mime: str = "audio/wav") -> AppTest:
    """Switch the sidebar to "Upload a file" and upload ``data`` as ``name``."""
    app.sidebar.radio(key="memo_source").set_value("Upload a file").run()
    app.get("file_uploader")[0].set_value((name, data, mime)).run()
    return app



def texts(app: AppTest) -> str:
    """Every message, markdown, caption and title on the page, as one string to search."""
    parts = []
    for kind in ("error", "warning", "info", "success", "markdown", "caption", "title", "subheader", "header"):
        parts += [str(e.value) for e in app.get(kind)]
    return "\n".join(parts)



def values(array) -> np.ndarray:
    """A plotly spec's array (a list, or a typed array ``{"dtype", "bdata"}`` as plotly 6+ writes numpy data)."""
    import base64

    if isinstance(array, dict) and "bdata" in array:
        out = np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
        shape = array.get("shape")
        if shape:
            out = out.reshape([int(s) for s in str(shape).split(",")] if isinstance(shape, str) else shape)
        return out
    return np.asarray(array)



def chart_specs(app: AppTest) -> list[dict]:
    """Every plotly chart on the page, as its figure's JSON, in page order."""

    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")]



def charts_by_key(app: AppTest) -> dict[str, dict]:
    """The page's plotly charts by their widget key (element ids end with it)."""

    return {c.proto.id.split("-", 2)[-1]: json.loads(c.proto.spec) for c in app.get("plotly_chart")}

