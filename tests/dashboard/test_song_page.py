"""The Song page and the shared sidebar, with AppTest on the tiny corpus and on uploads."""

from __future__ import annotations

import json

import pytest

from tests.dashboard._helpers import charts_by_key, open_page, song_wav, texts, upload

#: The Song page's families (tests/dashboard/conftest.py): MCA, AT/BAT, DBLSTM-ELM and DAMFF curves, and the trust
#: cues of mca, at, bat, dblstm_elm and damff.
CHECKPOINT_KEYS = ("mca", "at", "bat", "dblstm_elm", "damff")


def _chart_specs(app):
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")]


def _trace_names(spec):
    return {d.get("name") for d in spec["data"]}


def test_song_page_shows_signal_curves_metrics_and_path(corpus_env):
    app = open_page()
    assert not app.exception
    specs = _chart_specs(app)
    assert len(specs) >= 3
    signal, va, path = specs[0], specs[1], specs[2]
    assert {"waveform", "log-mel", "chroma"} <= _trace_names(signal)
    assert {"annotation (ground truth)", "mca", "at", "bat"} <= _trace_names(va)
    assert "rater spread (±1 sd)" in _trace_names(va)
    assert "time (s)" in json.dumps(va["layout"])
    assert any("happy / excited" in a["text"] for a in path["layout"]["annotations"])
    metrics = app.dataframe[0].value
    assert {"checkpoint", "target", "RMSE", "MAE", "PCC", "CCC", "R2", "Kendall tau"} <= set(metrics.columns)
    assert set(metrics["target"]) == {"valence", "arousal"}
    assert len(app.get("audio")) == 1
    labels = [b.label for b in app.get("download_button")]
    assert "Curves (CSV)" in labels


def test_switching_song_target_and_checkpoints(corpus_env):
    app = open_page()
    song = app.sidebar.selectbox(key="memo_song_synth")
    assert song.options == ["1", "2", "3", "4"]
    song.select("3").run()
    assert not app.exception
    assert app.get("subheader")[0].value == "3"
    app.sidebar.radio(key="memo_targets").set_value("arousal").run()
    va = _chart_specs(app)[1]
    assert [a["text"] for a in va["layout"]["annotations"] if a["text"] in ("Valence", "Arousal")] == ["Arousal"]
    app.sidebar.multiselect(key="memo_ckpt_AT/BAT").set_value(["bat"]).run()
    assert not app.exception
    names = _trace_names(_chart_specs(app)[1])
    assert "bat" in names and "at" not in names
    assert set(app.dataframe[0].value["target"]) == {"arousal"}


def test_search_filters_songs(corpus_env):
    app = open_page()
    app.sidebar.text_input(key="memo_search_synth").input("no-such-song").run()
    assert not app.exception
    assert "No song matches" in texts(app)


def _cache_files() -> set[str]:
    import os
    from pathlib import Path

    root = Path(os.environ["MEMO_CACHE_DIR"])
    return {str(p) for p in root.rglob("*") if p.is_file()}


def test_upload_of_a_generated_wav_is_analysed_and_nothing_of_it_is_written(corpus_env):
    app = open_page()
    before = _cache_files()
    upload(app, "my song.wav", song_wav(12.0))
    assert not app.exception
    assert _cache_files() == before  # features and results of an upload stay in memory
    assert app.get("subheader")[0].value == "my song.wav"
    names = _trace_names(_chart_specs(app)[1])
    assert {"mca", "damff"} <= names and "annotation (ground truth)" not in names
    assert "no annotation" in texts(app)


@pytest.mark.parametrize("name, data, expected", [
    ("notes.wav", b"this is not audio at all" * 50, "cannot be analysed"),
    ("short.wav", song_wav(0.2), "cannot be analysed"),
    ("broken.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(range(256)) * 20, "cannot be analysed"),
], ids=["not-audio", "0.2-s", "corrupt-mp3"])
def test_bad_uploads_show_a_message_and_the_app_keeps_working(corpus_env, name, data, expected):
    app = upload(open_page(), name, data)
    assert not app.exception
    assert expected in texts(app)
    # the app still works: back to a dataset song
    app.sidebar.radio(key="memo_source").set_value("A dataset song").run()
    assert not app.exception and len(app.get("plotly_chart")) >= 3


def test_silent_upload_warns(corpus_env):
    app = upload(open_page(), "silence.wav", song_wav(5.0, silent=True))
    assert not app.exception
    assert "silent" in texts(app).lower()


def test_too_long_upload_is_refused(corpus_env):
    app = upload(open_page(), "long.wav", song_wav(13 * 60.0, sample_rate=2_000))
    assert not app.exception
    assert "cannot be analysed" in texts(app) and "long" in texts(app).lower()


def test_wrong_dataset_folder_layout_shows_a_message(corpus_env, tmp_path):
    app = open_page()
    app.sidebar.selectbox(key="memo_dataset").select("deam").run()
    assert "Type the folder" in texts(app)
    app.sidebar.text_input(key="memo_root_deam").input(str(tmp_path)).run()
    assert not app.exception
    assert "cannot be opened as deam" in texts(app)
    app.sidebar.text_input(key="memo_root_deam").input(str(tmp_path / "missing")).run()
    assert "does not exist" in texts(app)


def test_served_mode_hides_the_path_field_and_refuses_other_folders(corpus_env, tmp_path, monkeypatch):
    allowed = tmp_path / "datasets"
    allowed.mkdir()
    monkeypatch.setenv("MEMO_DATASET_ROOTS", str(allowed))
    app = open_page()
    app.sidebar.selectbox(key="memo_dataset").select("deam").run()
    assert not app.exception
    assert not [t for t in app.sidebar.text_input if t.key == "memo_root_deam"]
    assert app.sidebar.selectbox(key="memo_root_deam").options == [str(allowed.resolve())]


def test_served_mode_offers_the_folders_inside_a_root_and_opens_them(corpus_env, tmp_path, monkeypatch):
    """A root such as /srv/data holds the datasets' folders: each one directly inside is offered and passes the
    root check; hidden folders, files and links leading out of the roots are not offered."""
    allowed = tmp_path / "data"
    for name in ("DEAM", "PMEmo", ".cache"):
        (allowed / name).mkdir(parents=True)
    (allowed / "notes.txt").write_text("not a folder")
    (tmp_path / "private").mkdir()
    (allowed / "escape").symlink_to(tmp_path / "private")
    monkeypatch.setenv("MEMO_DATASET_ROOTS", str(allowed))
    app = open_page()
    app.sidebar.selectbox(key="memo_dataset").select("deam").run()
    choice = app.sidebar.selectbox(key="memo_root_deam")
    assert choice.options == [str(allowed.resolve()), str((allowed / "DEAM").resolve()),
                              str((allowed / "PMEmo").resolve())]
    choice.select(str((allowed / "DEAM").resolve())).run()
    assert not app.exception
    said = " ".join(e.value for e in [*app.error, *app.sidebar.error])
    assert "cannot be opened as deam" in said and "restricted" not in said  # inside the root: the loader's turn


def test_dataset_root_check_refuses_paths_outside_the_roots(tmp_path):
    from dashboard.resources import Settings, check_dataset_root
    from memo_core.errors import DatasetError

    root = tmp_path / "root"
    (root / "deam").mkdir(parents=True)
    served = Settings((root.resolve(),), "MEMO_DATASET_ROOTS")
    assert check_dataset_root(str(root / "deam"), served) == (root / "deam").resolve()
    for bad in (str(tmp_path), str(root / ".." / ".."), "/etc", ""):
        with pytest.raises(DatasetError):
            check_dataset_root(bad, served)
    link = root / "escape"
    link.symlink_to(tmp_path)
    with pytest.raises(DatasetError, match="restricted"):
        check_dataset_root(str(link), served)
    # paths that are not paths: a message, not a traceback
    for odd in ("~no-such-user-memo/x", "/" + "x" * 300):
        with pytest.raises(DatasetError, match="cannot be read as a folder path"):
            check_dataset_root(odd, Settings())


def test_tampered_checkpoint_is_reported_and_the_rest_load(corpus_env, checkpoint_set, tmp_path, monkeypatch):
    import shutil

    folder = tmp_path / "ckpts"
    shutil.copytree(checkpoint_set, folder)  # this module's checkpoints (CHECKPOINT_KEYS)
    (folder / "bat.pt").write_bytes(b"tampered")
    monkeypatch.setenv("MEMO_CHECKPOINTS_DIR", str(folder))
    from dashboard import resources

    resources.checkpoints.clear()
    try:
        app = open_page()
        assert not app.exception
        assert any("could not be loaded" in e.label for e in app.sidebar.expander)
        assert "bat" not in app.sidebar.multiselect(key="memo_ckpt_AT/BAT").options
        assert len(app.get("plotly_chart")) >= 3
    finally:
        resources.checkpoints.clear()


def test_a_manifest_of_the_wrong_shape_is_reported_and_the_app_still_runs(corpus_env, manifest_with):
    """Valid JSON of the wrong shape: a bad entry is listed with its key and field and the others load; a bad file
    as a whole is one message, and the pages still draw (an AttributeError and a ValueError before)."""
    import os
    from pathlib import Path

    from dashboard import resources

    manifest_with({"at": {"metrics": [0.1, 0.2]}})  # the Compare page read metrics as an object
    path = Path(os.environ["MEMO_CHECKPOINTS_DIR"]) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "checkpoints": ["mca", *manifest["checkpoints"]]}))
    resources.checkpoints.clear()
    resources.manifest_entries.clear()
    app = open_page()
    assert not app.exception
    said = texts(app)
    assert "manifest entry 1 is not an object" in said and "manifest entry 'at': field 'metrics'" in said
    assert app.sidebar.multiselect(key="memo_ckpt_MCA").options  # mca's own (valid) entry still loads
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception

    path.write_text(json.dumps({**manifest, "version": "one"}))
    resources.checkpoints.clear()
    resources.manifest_entries.clear()
    app.run()
    assert not app.exception
    assert "field 'version' must be a whole number >= 1, got a text 'one'" in texts(app)


def test_fresh_machine_offers_to_render_the_corpus_from_the_sidebar(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMO_DATA_DIR", str(tmp_path / "nothing-yet"))
    app = open_page()
    assert not app.exception
    assert "not rendered yet" in texts(app)
    assert app.sidebar.button(key="memo_render_corpus").label == "Render the demo corpus"
    # the Upload path still works without the corpus
    upload(app, "tone.wav", song_wav(6.0))
    assert not app.exception and app.get("subheader")[0].value == "tone.wav"


def test_settings_file_restricts_roots_and_a_broken_file_disables_folders(tmp_path, monkeypatch):
    from dashboard import resources

    monkeypatch.delenv("MEMO_DATASET_ROOTS", raising=False)
    root = tmp_path / "deam"
    root.mkdir()
    conf = tmp_path / "memo.toml"
    monkeypatch.setattr(resources, "_SETTINGS_FILE", conf)
    assert not resources.settings().restricted  # no file: a personal machine
    conf.write_text(f'restrict = true\ndataset_roots = ["{root}", "{tmp_path / "missing"}"]\n')
    served = resources.settings()
    assert served.restricted and served.dataset_roots == (root.resolve(),)
    assert any("missing" in p for p in served.problems)
    conf.write_text("restrict = [oops")
    broken = resources.settings()
    assert broken.restricted and broken.dataset_roots == () and "could not be read" in broken.problems[0]
    conf.write_text('restrict = true\ndataset_roots = "/"\n')  # a string, not a list: never "/" as a root
    wrong = resources.settings()
    assert wrong.restricted and wrong.dataset_roots == () and "list of folder paths" in wrong.problems[0]


def test_playhead_marker_time_axes_and_pinned_colour_scales(corpus_env):
    """The playhead's marker and script are on the page, the time-aligned charts list their time axes for it,
    and no chart carries a colour Streamlit's theme would replace (tests/browser checks what is drawn)."""
    import re

    from tests.dashboard._helpers import charts_by_key

    app = open_page()
    assert not app.exception
    marker = [h.proto for h in app.get("html") if "memo-playhead" in h.proto.body]
    assert len(marker) == 1 and marker[0].unsafe_allow_javascript
    assert "<script>" in marker[0].body and "currentTime" in marker[0].body and "memo-cursor" in marker[0].body
    assert len(app.get("audio")) == 1 and "Click any chart with a time axis" in marker[0].body
    charts = charts_by_key(app)
    assert charts["song_signal"]["layout"]["meta"]["memo_time_axes"] == ["x", "x2", "x3"]
    assert charts["song_va"]["layout"]["meta"]["memo_time_axes"] == ["x", "x2"]
    assert "memo_time_axes" not in (charts["song_path"]["layout"].get("meta") or {})  # the plane has no time axis
    chroma = next(d for d in charts["song_signal"]["data"] if d.get("name") == "chroma")
    assert chroma["colorscale"][0] == [0.0, "rgb(0, 0, 4)"] and (chroma["zmin"], chroma["zmax"]) == (0, 1)
    for key, spec in charts.items():  # Streamlit's frontend swaps #000001 .. #000040 for its theme's colours
        ours = {"data": spec["data"], "layout": {k: v for k, v in spec["layout"].items() if k != "template"}}
        assert not re.search(r"#0000[0-4][0-9]\b", json.dumps(ours), re.IGNORECASE), key


def test_one_model_in_focus_over_the_models_spread_and_the_song_position(corpus_env):
    from dashboard.resources import manifest_entries
    from memo_core.explain.song import focus_model
    from tests.dashboard._helpers import charts_by_key

    app = open_page()
    focus = app.selectbox(key="song_focus")
    options = list(app.session_state["memo_selection"].checkpoint_keys)
    models = [o for o in options if o in _trace_names(charts_by_key(app)["song_va"])]
    assert len(models) >= 2
    assert focus.value == focus_model(manifest_entries(), models)  # the best trusted on real music

    def solid(spec) -> set[str]:
        return {d["name"] for d in spec["data"] if d.get("name") in models and d.get("visible", True) is True}

    def check(expected: str) -> None:
        charts = charts_by_key(app)
        va, path = charts["song_va"], charts["song_path"]
        assert solid(va) == {expected} and solid(path) == {expected}
        focused = [d for d in va["data"] if d.get("name") == expected]
        assert all(d["line"]["width"] >= 3 for d in focused)
        hidden = [d for d in va["data"] if d.get("name") in models and d["name"] != expected]
        assert hidden and all(d["visible"] == "legendonly" for d in hidden)  # a click on the legend shows them
        bands = [d for d in va["data"] if str(d.get("name")).startswith("spread of the chosen models")]
        assert len(bands) == 2 and all(d["fill"] == "toself" for d in bands)  # one per target
        raters = [d for d in va["data"] if d.get("name") == "rater spread (±1 sd)"]
        assert raters and all(d.get("fillpattern", {}).get("shape") == "/" for d in raters)  # hatched, unlike the band
        assert any(str(d.get("name")).startswith("other models, every frame") for d in path["data"])
        assert any(str(d.get("name")).startswith("song mean") and d.get("error_x") for d in path["data"])

    check(focus.value)
    other = next(m for m in models if m != focus.value)
    app.selectbox(key="song_focus").set_value(other).run()
    assert not app.exception
    check(other)
    app.sidebar.selectbox(key="memo_song_synth").select("2").run()  # the choice outlives the song
    assert app.selectbox(key="song_focus").value == other
    # where the song sits: the mean with its interval, a quadrant only when clearly inside it
    assert "Where the song sits:" in texts(app)
    table = next(d.value for d in app.dataframe if "where" in d.value.columns)
    assert {"source", "valence", "arousal", "where"} <= set(table.columns)
    assert table["source"].iloc[-1] == f"chosen models ({len(models)})"
    assert all("[" in v for v in table["valence"])


def test_a_typed_folder_and_a_chosen_song_are_remembered_across_datasets(corpus_env, tmp_path):
    app = open_page()
    app.sidebar.selectbox(key="memo_song_synth").select("2").run()
    app.sidebar.selectbox(key="memo_dataset").select("emomusic").run()
    app.sidebar.text_input(key="memo_root_emomusic").input(str(tmp_path)).run()
    app.sidebar.selectbox(key="memo_dataset").select("synth").run()
    assert app.sidebar.selectbox(key="memo_song_synth").value == "2"
    app.sidebar.selectbox(key="memo_dataset").select("emomusic").run()
    assert not app.exception
    assert app.sidebar.text_input(key="memo_root_emomusic").value == str(tmp_path)


def _real_music_manifest() -> dict:
    """mca validated (good), at validated (poor), bat and dblstm_elm with malformed figures, the rest without."""
    from tests._helpers import validated_entry

    return {
        "mca": {k: v for k, v in validated_entry("mca").items() if k in ("validation_real", "training_sources")},
        "at": {"validation_real": validated_entry("at", a_auc=0.7)["validation_real"]},
        "bat": {"validation_real": {"4q": {"arousal_auc": {"value": "high"}, "valence_auc": 7, "n_songs": -1},
                                    "clips": [1, 2], "targets": "all", "verdict": 3},
                "training_sources": "oops", "tag_spread": 5},
        "dblstm_elm": {"validation_real": "yes", "training_sources": [None, {"name": "x", "songs": "many"}]},
    }


def test_song_page_shows_how_far_to_trust_each_checkpoint_on_real_music(corpus_env, manifest_with):
    from dashboard.widgets import TRUST_EXPANDER
    from memo_core.explain.trust import UNVALIDATED

    manifest_with(_real_music_manifest())
    app = open_page()
    assert not app.exception
    good = " ".join(s.value for s in app.success)
    assert "Trust on real music: good" in good and "**mca**" in good
    assert "real music: arousal AUC 0.92 [0.84, 1.00], valence AUC 0.78 [0.70, 0.86] on 88 held-out 4Q clips" in good
    assert "Arousal follows real music well" in good and "1 of 2 targets met" in good
    assert not app.error  # red is for failures; a poor model is a warning that says "poor"
    poor = " ".join(w.value for w in app.warning)
    assert "Trust on real music: poor" in poor and "**at**" in poor and "arousal AUC 0.70" in poor
    assert "Poor because arousal AUC 0.70 is below 0.75" in poor
    unvalidated = " ".join(i.value for i in app.info)
    assert UNVALIDATED in unvalidated and "**bat**" in unvalidated and "**dblstm_elm**" in unvalidated
    # the table of every loaded checkpoint, the baselines on the same songs, the training sources
    expander = next(e for e in app.expander if e.label == TRUST_EXPANDER)
    frames = [d.value for d in expander.dataframe]
    table = next(f for f in frames if "kind" in f.columns).set_index("model")
    assert table.loc["mca", "trust"] == "🟢 good" and table.loc["at", "trust"] == "🔴 poor"
    assert table.loc["bat", "trust"] == "⚪ unvalidated" and table.loc["damff", "trust"] == "⚪ unvalidated"
    assert table.loc["loudness level (baseline)", "kind"] == "baseline"
    assert table.loc["loudness level (baseline)", "4Q arousal AUC"] == "0.81 [0.74, 0.88]"
    sources = next(f for f in frames if "licence" in f.columns)
    assert "CC BY-NC-SA 4.0 (research use)" in set(sources["licence"])
    # the sidebar marks each checkpoint's level
    options = app.sidebar.multiselect(key="memo_ckpt_AT/BAT").options
    assert any(o == "at 🔴" for o in options)
    assert any(o == "bat ⚪" for o in options)

    # without the keys (an older manifest): every checkpoint says so, and nothing else changes
    manifest_with({})
    app.run()
    assert not app.exception
    assert not app.success and "Trust on real music" not in texts(app)
    assert UNVALIDATED in " ".join(i.value for i in app.info) and "**mca**" in " ".join(i.value for i in app.info)
    assert len(app.get("plotly_chart")) >= 3 and {"checkpoint", "RMSE"} <= set(app.dataframe[0].value.columns)


def test_beats_and_sections_on_the_time_axes_and_a_table_per_section(corpus_env):
    from dashboard import resources

    app = open_page()
    assert not app.exception
    charts = charts_by_key(app)
    source = app.session_state["memo_selection"].source
    structure = resources.song_structure(source.key, resources.load_song_audio(source)[0])
    assert len(structure.beat_times_s) >= 10
    for key in ("song_signal", "song_va"):  # the same beats on the chromagram's chart and on the curves
        beats = [s for s in charts[key]["layout"].get("shapes", []) if s.get("name") == "beats"]
        assert sorted({s["x0"] for s in beats}) == pytest.approx(sorted(structure.beat_times_s))
    sections = next(d.value for d in app.dataframe if "section" in d.value.columns)
    assert {"annotation", "mca", "at"} <= set(sections["curve"])
    assert len(sections) == len(structure.sections) * sections["curve"].nunique()
    # the one-page report is offered beside the offline chart exports
    labels = {b.label for b in app.get("download_button")}
    assert {"One-page report (HTML)", "Curves (CSV)", "Valence/arousal chart (HTML)"} <= labels

    app.toggle(key="song_structure").set_value(False).run()
    assert not app.exception
    charts = charts_by_key(app)
    assert not [s for s in charts["song_va"]["layout"].get("shapes", []) if s.get("name") == "beats"]
    assert not any("section" in d.value.columns for d in app.dataframe)
