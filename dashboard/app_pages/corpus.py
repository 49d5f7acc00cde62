"""Browse the synthetic emotion corpus: songs on the valence-arousal plane, one song's audio and curves."""

import streamlit as st

from dashboard import plots, resources

st.title("Synthetic emotion corpus")
st.caption(
    "Music rendered from known valence/arousal trajectories with sampled General MIDI instruments: "
    "arousal drives tempo, note density, loudness, brightness, articulation and percussion; "
    "valence drives mode, consonance, register and roughness. Annotations simulate 2 Hz listener ratings."
)

root = resources.default_corpus_dir()
if not resources.corpus_is_ready(root):
    st.info(f"The demo corpus is not rendered yet. It takes a few minutes and is written to `{root}`.")
    if st.button("Render the demo corpus", type="primary"):
        bar = st.progress(0.0, text="Rendering songs…")
        resources.render_default_corpus(lambda done, total: bar.progress(done / total, text=f"{done}/{total} songs"))
        st.rerun()
    st.stop()

table, summary = resources.corpus_table(str(root))
st.text(summary)
left, right = st.columns([1, 1])
with left:
    st.plotly_chart(plots.va_plane(table), use_container_width=True)
with right:
    st.dataframe(table, hide_index=True, height=420)

song_id = st.selectbox("Song", table["song"].tolist())
audio = resources.song_audio(str(root), song_id)
if audio is not None:
    st.audio(audio, format="audio/flac")
st.plotly_chart(plots.va_curves(resources.song_curves(str(root), song_id), title=f"Song {song_id}"),
                use_container_width=True)
