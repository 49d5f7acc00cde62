// MEMO's playhead (dashboard/playhead.py injects this with st.html, so it runs in the app's own page).
//
// While the page holds a `.memo-playhead` marker, every plotly chart whose x axis is the song's time axis
// (an axis listed in the figure's layout.meta.memo_time_axes, else an axis titled like the marker's
// data-time-title, and the axes matched to it) gets:
//   - a click handler: clicking inside such a subplot sets the page's audio player to that time and plays;
//   - a cursor: a vertical line (div.memo-cursor, data-time = seconds) that follows the player.
// The player is the last audio element before the marker (st.audio draws one). Installed once per page
// load (window.__memoPlayhead); Streamlit redraws charts on every rerun, so charts are looked up each frame.
(function () {
  if (window.__memoPlayhead) return;
  const state = (window.__memoPlayhead = { seeks: 0, lastSeek: null });

  const marker = () => document.querySelector(".memo-playhead");

  function player(mark) {
    const all = Array.from(document.querySelectorAll("audio"));
    let found = null;
    for (const a of all) {
      if (a.compareDocumentPosition(mark) & Node.DOCUMENT_POSITION_FOLLOWING) found = a;
    }
    return found || all[0] || null;
  }

  function timeAxes(gd, title) {
    const fl = gd._fullLayout;
    if (!fl) return [];
    const names = Object.keys(fl).filter((k) => /^xaxis\d*$/.test(k) && fl[k] && fl[k]._id);
    const listed = fl.meta && Array.isArray(fl.meta.memo_time_axes) ? fl.meta.memo_time_axes : null;
    let ids;
    if (listed) {
      ids = listed;
    } else {
      const titled = names.filter((k) => ((fl[k].title || {}).text || "") === title).map((k) => fl[k]._id);
      ids = names.map((k) => fl[k]._id).filter((id, i) => titled.includes(id) || titled.includes(fl[names[i]].matches));
    }
    return names.map((k) => fl[k]).filter((ax) => ids.includes(ax._id) && typeof ax.l2p === "function");
  }

  function yExtent(gd, xa) {
    const fl = gd._fullLayout;
    const ya = xa.anchor && xa.anchor !== "free" ? fl["yaxis" + xa.anchor.slice(1)] : null;
    if (ya && ya._length) return [ya._offset, ya._length];
    return [fl._size.t, fl._size.h];
  }

  function host(gd) {
    return gd.querySelector(".svg-container") || gd;
  }

  function seek(gd, event) {
    const mark = marker();
    const audio = mark && player(mark);
    if (!audio) return;
    const box = host(gd).getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    for (const xa of timeAxes(gd, mark.dataset.timeTitle || "time (s)")) {
      const [top, height] = yExtent(gd, xa);
      if (x < xa._offset || x > xa._offset + xa._length || y < top || y > top + height) continue;
      let t = xa.p2l(x - xa._offset);
      if (!Number.isFinite(t)) return;
      const end = Number.isFinite(audio.duration) ? audio.duration : Infinity;
      t = Math.max(0, Math.min(t, end));
      audio.currentTime = t;
      state.seeks += 1;
      state.lastSeek = t;
      if (audio.paused && mark.dataset.play !== "false") audio.play().catch(() => {});
      draw();
      return;
    }
  }

  function cursors(gd) {
    return Array.from(host(gd).querySelectorAll(":scope > .memo-cursor"));
  }

  function drawChart(gd, t, title) {
    const axes = t === null ? [] : timeAxes(gd, title);
    const lines = cursors(gd);
    while (lines.length > axes.length) lines.pop().remove();
    const parent = host(gd);
    if (axes.length && getComputedStyle(parent).position === "static") parent.style.position = "relative";
    axes.forEach((xa, i) => {
      let line = lines[i];
      if (!line) {
        line = document.createElement("div");
        line.className = "memo-cursor";
        line.style.cssText = "position:absolute;width:2px;margin-left:-1px;pointer-events:none;z-index:5;"
          + "background:#ff2bd6;box-shadow:0 0 0 1px rgba(255,255,255,0.55),0 0 3px rgba(0,0,0,0.6);";
        parent.appendChild(line);
      }
      const [top, height] = yExtent(gd, xa);
      const px = xa._offset + xa.l2p(t);
      const inside = Number.isFinite(px) && px >= xa._offset - 0.5 && px <= xa._offset + xa._length + 0.5;
      line.style.display = inside ? "block" : "none";
      line.style.left = `${px}px`;
      line.style.top = `${top}px`;
      line.style.height = `${height}px`;
      line.dataset.time = t.toFixed(3);
      line.dataset.axis = xa._id;
    });
  }

  function draw() {
    const mark = marker();
    const charts = Array.from(document.querySelectorAll(".js-plotly-plot"));
    if (!mark) {
      charts.forEach((gd) => cursors(gd).forEach((c) => c.remove()));
      return null;
    }
    const audio = player(mark);
    const t = audio ? audio.currentTime || 0 : null;
    const title = mark.dataset.timeTitle || "time (s)";
    for (const gd of charts) {
      if (!gd.__memoSeek) {
        gd.__memoSeek = (e) => seek(gd, e);
        gd.addEventListener("click", gd.__memoSeek);
      }
      drawChart(gd, t, title);
    }
    return audio;
  }

  function loop() {
    let audio = null;
    try {
      audio = draw();
    } catch (err) {
      console.warn("memo playhead:", err);
    }
    // every frame while playing; a few times a second otherwise (charts redraw, zoom, resize)
    if (audio && !audio.paused) requestAnimationFrame(loop);
    else setTimeout(loop, 200);
  }
  loop();
})();
