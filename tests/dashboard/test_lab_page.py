"""The Emotion lab page: a preset rendered, analysed and compared with its design; bad drawn points refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.dashboard._helpers import open_page, texts, values


def test_preset_is_rendered_analysed_and_offered_to_the_other_pages(corpus_env):
    app = open_page("lab")
    assert not app.exception
    assert app.selectbox(key="lab_preset").options[:2] == ["calm to excited", "happy to sad"]
    assert "Render and analyse" in texts(app)
    app.slider(key="lab_duration").set_value(10).run()
    app.button(key="lab_render").click().run()
    assert not app.exception
    assert app.get("subheader")[0].value.startswith("Emotion lab: calm to excited")
    specs = {c.key: json.loads(c.proto.spec) for c in app.get("plotly_chart") if c.key}
    names = {d.get("name") for d in specs["lab_va"]["data"]}
    assert {"design", "mca", "at"} <= names
    # the lab's curve is the design, on every chart: never an "annotation"
    assert not any("annotation" in str(d.get("name", "")) for key in ("lab_va", "lab_path")
                   for d in specs[key]["data"])
    designed = [d for d in specs["lab_va"]["data"] if d.get("name") == "design"]
    assert len(designed) == 2  # valence row, then arousal row
    y = values(designed[1]["y"])
    assert len(y) == 20 and y[0] == pytest.approx(-0.7) and y[-1] == pytest.approx(0.8)  # calm to excited: arousal
    table = app.dataframe[0].value
    assert {"checkpoint", "target", "PCC", "CCC", "RMSE"} <= set(table.columns) and len(table) >= 2
    # no tagger in the lab's tables (a designed valence/arousal path says nothing about tags)
    assert len(app.dataframe) == 1 and "vggish" not in set(table["checkpoint"])
    assert not any("tagger" in str(c) for d in app.dataframe for c in d.value.columns)
    # one plain-language line per model, computed from how its curve followed the design
    followed = next(m.value for m in app.markdown if m.value.startswith("**How each model followed the design**"))
    for key in set(table["checkpoint"]):
        assert f"- **{key}**: " in followed
    assert "(r " in followed and ("follows" in followed or "moves against" in followed)
    assert len(app.get("audio")) == 1
    # the rendered song is now a sidebar song source, and the Song page shows it with its design as the truth
    app.sidebar.radio(key="memo_source").set_value("Emotion lab song").run()
    app.switch_page("app_pages/song.py").run()
    assert not app.exception
    assert app.get("subheader")[0].value.startswith("Emotion lab")


def test_drawn_points_are_checked(corpus_env):
    from dashboard import resources
    from memo_core.errors import MemoError

    good = pd.DataFrame({"time_s": [0.0, 10.0], "valence": [-0.5, 0.5], "arousal": [0.0, 0.8]})
    t, v, a = resources.lab_frames(None, good, 10.0)
    assert len(t) == 20 and v[0] == -0.5 and a[-1] > 0.7
    with pytest.raises(MemoError, match="at least one point"):
        resources.lab_frames(None, good.iloc[0:0], 10.0)
    with pytest.raises(MemoError, match=r"\[-1, 1\]"):
        resources.lab_frames(None, good.assign(valence=[0.0, 3.0]), 10.0)
    with pytest.raises(MemoError, match="within the song"):
        resources.lab_frames(None, good.assign(time_s=[0.0, 50.0]), 10.0)


def test_draw_mode_offers_a_plane_to_draw_on_and_uses_the_drawn_path(corpus_env):
    from dashboard import resources

    app = open_page("lab")
    app.radio(key="lab_mode").set_value("Draw your own").run()
    assert not app.exception
    assert "Draw" in texts(app)
    plane = next(c for c in app.get("plotly_chart") if c.key == "lab_draw")
    assert json.loads(plane.proto.spec)["layout"]["dragmode"] == "lasso"
    # what the lasso callback stores for a stroke from sad to excited
    drawn = resources.lab_points_from_path([-0.6, 0.0, 0.7], [-0.7, 0.0, 0.8], 30.0)
    assert len(drawn) == 16 and drawn["time_s"].iloc[-1] == 30.0
    app.session_state["lab_drawn"] = drawn
    app.run()
    assert not app.exception
    plane = json.loads(next(c for c in app.get("plotly_chart") if c.key == "lab_draw").proto.spec)
    design = next(d for d in plane["data"] if d.get("name") == "design")
    v, a = values(design["x"]), values(design["y"])
    assert v[0] == pytest.approx(-0.6) and a[-1] == pytest.approx(0.8, abs=0.05)


def test_a_new_design_clears_the_last_result(corpus_env):
    app = open_page("lab")
    app.slider(key="lab_duration").set_value(10).run()
    app.button(key="lab_render").click().run()
    assert not app.exception
    keys = {c.key for c in app.get("plotly_chart")}
    assert "lab_va" in keys and len(app.get("audio")) == 1
    # another preset: the old result is gone from the page, and the page says why
    app.selectbox(key="lab_preset").set_value("happy to sad").run()
    assert not app.exception
    assert "lab_va" not in {c.key for c in app.get("plotly_chart")} and not app.get("audio")
    assert "design has changed since the last rendering" in texts(app)
    # back to the rendered design: its result is shown again; another seed (same path) clears it too
    app.selectbox(key="lab_preset").set_value("calm to excited").run()
    assert "lab_va" in {c.key for c in app.get("plotly_chart")}
    app.number_input(key="lab_seed").set_value(3).run()
    assert "lab_va" not in {c.key for c in app.get("plotly_chart")}
    # a new drawing clears it as well
    app.number_input(key="lab_seed").set_value(0).run()
    app.radio(key="lab_mode").set_value("Draw your own").run()
    assert "lab_va" not in {c.key for c in app.get("plotly_chart")} and "design has changed" in texts(app)


def test_frames_unlike_the_training_songs_are_shaded_on_the_lab_chart(corpus_env, manifest_with):
    """As on the Song page: a checkpoint whose training songs' distances stay tiny (a made-up reference with a
    threshold of 0.01) finds every frame of the lab song unfamiliar, and the lab's chart says so with the band."""
    from dashboard.plots.bands import OUTSIDE_NAME
    from memo_core.explain.familiarity import DISTANCE, MANIFEST_KEY

    manifest_with({"at": {MANIFEST_KEY: {"distance": DISTANCE, "quantile": 0.995, "threshold": 0.01,
                                         "median": 0.005, "n_frames": 100, "n_songs": 2}}})
    app = open_page("lab")
    app.slider(key="lab_duration").set_value(10).run()
    app.button(key="lab_render").click().run()
    assert not app.exception
    spec = next(json.loads(c.proto.spec) for c in app.get("plotly_chart") if c.key == "lab_va")
    assert OUTSIDE_NAME in {s.get("name") for s in spec["layout"].get("shapes", [])}
    assert any("outside what the models know" in w.value.lower() and "**at**" in w.value for w in app.warning)
