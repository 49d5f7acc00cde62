// Drive the running MEMO dashboard in a real browser (Debian's chromium through playwright-core).
//
// It starts nothing itself: tests/browser/test_browser.py starts `streamlit run dashboard/app.py` and runs
//   node tests/browser/app.spec.mjs
// with MEMO_BROWSER_URL set. By hand: start the app, then `MEMO_BROWSER_URL=http://localhost:8501 node ...`.
//
// Steps: open the app and wait for the Song page's charts (the first dataset song), switch the sidebar's
// "Song source" to "Upload a file", upload a generated WAV, wait for its charts, then visit every page
// listed in the sidebar navigation (clicking the links, so the upload stays in the session), waiting on
// each until Streamlit is idle; then (if MEMO_BROWSER_DARK_URL is set) two pages in the dark theme.
// Fails on any uncaught page error, console error, Streamlit exception box or unexpected error alert.
// A full-page screenshot per step lands in MEMO_BROWSER_ARTIFACTS (default tests/browser/artifacts/). Exit code 0 = pass, 1 = failures (listed on stderr).
//
// Environment:
//   MEMO_BROWSER_URL        the app (default http://localhost:8501)
//   MEMO_BROWSER_ARTIFACTS  screenshot folder (default tests/browser/artifacts)
//   MEMO_BROWSER_CHROMIUM   the browser (default /usr/bin/chromium)
//   MEMO_BROWSER_DARK_URL   optional: the same app started with --theme.base dark; its corpus and About
//                           pages are then checked and photographed in the dark theme too
//   MEMO_BROWSER_TIMEOUT_S  how long one page may run, e.g. a first analysis on slow cores (default 180)

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const URL_ = (process.env.MEMO_BROWSER_URL || "http://localhost:8501").replace(/\/+$/, "");
const ARTIFACTS = process.env.MEMO_BROWSER_ARTIFACTS || join(HERE, "artifacts");
const CHROMIUM = process.env.MEMO_BROWSER_CHROMIUM || "/usr/bin/chromium";
const DARK_URL = (process.env.MEMO_BROWSER_DARK_URL || "").replace(/\/+$/, "");
const PAGE_TIMEOUT_MS = 1000 * Number(process.env.MEMO_BROWSER_TIMEOUT_S || 180);
const UPLOAD_NAME = "memo-browser-test.wav";
const MIN_PAGES = 9; // Song, Attention, Multi-scale, DAMFF, Mood/theme, Compare, Emotion lab, Synthetic corpus, About

// Error alerts a page may show on purpose; anything else in st.error fails the run. Keep this short.
const EXPECTED_ERRORS = [];
// Console errors that say nothing about the app; each one needs its reason.
const BENIGN_CONSOLE = [
  // the headless browser has no GPU and no audio device: chromium logs these, the app is not involved
  /WebGL|GPU stall|GL_INVALID|swiftshader/i,
  // opening a page's own URL (the dark-theme pass does): Streamlit's frontend finds the server's base path by
  // asking <page>/_stcore/health and host-config first, gets 404 there, then asks the root, which answers
  /status of 404 .* \(\S+\/_stcore\/(health|host-config)\)$/,
  // Streamlit's usage statistics (on unless browser.gatherUsageStats is false, as the repo's config and the
  // pytest wrapper set it) fetch a config from data.streamlit.io, which an offline machine cannot reach
  /data\.streamlit\.io\/metrics\.json|Failed to fetch metrics config|Undefined metrics config/,
];

const failures = [];
const log = (...a) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...a);
const T0 = Date.now();
let step = "start";

/** A short WAV (mono, 16-bit, 22.05 kHz): a chord whose loudness and pitch move, so the charts have something to show. */
function makeWav(seconds = 12, rate = 22050) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write("RIFF", 0); buf.writeUInt32LE(36 + 2 * n, 4); buf.write("WAVE", 8);
  buf.write("fmt ", 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(rate, 24); buf.writeUInt32LE(2 * rate, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write("data", 36); buf.writeUInt32LE(2 * n, 40);
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const f = 220 * (1 + 0.5 * (t / seconds));
    const env = 0.3 + 0.2 * Math.sin(2 * Math.PI * 0.25 * t);
    const beat = (t * 2) % 1 < 0.05 ? 0.3 * noise() : 0;
    const x = env * (Math.sin(2 * Math.PI * f * t) + 0.5 * Math.sin(2 * Math.PI * 1.25 * f * t)
      + 0.3 * Math.sin(2 * Math.PI * 1.5 * f * t)) / 1.8 + beat + 0.01 * noise();
    buf.writeInt16LE(Math.max(-32767, Math.min(32767, Math.round(x * 32767))), 44 + 2 * i);
  }
  return buf;
}

/** Wait until the app is connected and its script has finished (no rerun pending), then let charts draw. */
async function waitIdle(page, what) {
  const app = page.locator('[data-testid="stApp"]');
  await app.waitFor({ state: "attached", timeout: 60_000 });
  // a click starts a rerun a moment later: give it that moment, then wait for "notRunning" twice in a row
  await page.waitForTimeout(500);
  const deadline = Date.now() + PAGE_TIMEOUT_MS;
  let calm = 0;
  while (calm < 2) {
    if (Date.now() > deadline) throw new Error(`${what}: the app was still running after ${PAGE_TIMEOUT_MS / 1000} s`);
    const state = await app.getAttribute("data-test-script-state").catch(() => null);
    const conn = await app.getAttribute("data-test-connection-state").catch(() => null);
    const busy = await page.locator('[data-testid="stStatusWidget"] :text("Running"), [data-testid="stSpinner"], '
      + '[data-testid="stSkeleton"]').count();
    calm = state === "notRunning" && conn === "CONNECTED" && busy === 0 ? calm + 1 : 0;
    await page.waitForTimeout(calm ? 300 : 500);
  }
  // plotly draws after the script ends: wait until every chart container holds a drawn plot
  await page.waitForFunction(() => {
    const charts = document.querySelectorAll('[data-testid="stPlotlyChart"]');
    return [...charts].every((c) => c.querySelector(".js-plotly-plot .main-svg"));
  }, null, { timeout: 60_000 }).catch(() => failures.push(`${what}: a plotly chart did not draw within 60 s`));
  await page.waitForTimeout(300);
}

/** Record Streamlit exception boxes and unexpected error alerts on the current page. */
async function checkPage(page, what) {
  for (const box of await page.locator('[data-testid="stException"]').all()) {
    failures.push(`${what}: Streamlit exception: ${(await box.innerText()).slice(0, 1500)}`);
  }
  for (const alert of await page.locator('[data-testid="stAlertContentError"]:not([data-testid="stException"] *)').all()) {
    const text = (await alert.innerText()).trim();
    if (!EXPECTED_ERRORS.some((re) => re.test(text))) failures.push(`${what}: error alert: ${text.slice(0, 600)}`);
  }
}

let shot = 0;
async function screenshot(page, name) {
  const file = join(ARTIFACTS, `${String(++shot).padStart(2, "0")}-${name.replace(/[^a-z0-9]+/gi, "-").replace(/^-+|-+$/g, "").toLowerCase()}.png`);
  // Streamlit scrolls inside its main and sidebar panes, not the document, so fullPage alone would stop at the
  // viewport: grow the viewport to the panes' height for the shot (capped), then put it back
  const size = page.viewportSize();
  const tall = await page.evaluate(() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
    .map((sel) => document.querySelector(sel)?.scrollHeight || 0)));
  if (tall > size.height) {
    await page.setViewportSize({ width: size.width, height: Math.min(tall + 40, 16000) });
    await page.waitForTimeout(800); // plotly redraws on resize
  }
  await page.screenshot({ path: file, fullPage: true });
  if (tall > size.height) await page.setViewportSize(size);
  log(`screenshot ${file}`);
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: CI containers often run as root, where chromium's sandbox refuses to start
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on("pageerror", (err) => failures.push(`[${step}] page error: ${err.stack || err.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = `${msg.text()}${msg.location()?.url ? ` (${msg.location().url})` : ""}`;
    if (BENIGN_CONSOLE.some((re) => re.test(text))) return;
    failures.push(`[${step}] console error: ${text}`);
  });
  page.on("crash", () => failures.push(`[${step}] the page crashed`));

  try {
    // 1. the app and the first dataset song on the Song page
    step = "Song (dataset song)";
    log(`open ${URL_}`);
    await page.goto(URL_, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.locator('[data-testid="stSidebar"]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="stSidebarNav"]').waitFor({ timeout: 60_000 });
    await waitIdle(page, step);
    const charts = await page.locator('[data-testid="stPlotlyChart"]').count();
    log(`${step}: ${charts} chart(s)`);
    if (charts === 0) failures.push(`${step}: no plotly chart on the Song page (is MEMO_DATA_DIR a rendered corpus?)`);
    await checkPage(page, step);
    await screenshot(page, "song-dataset");

    // 2. upload a WAV
    step = "Song (upload)";
    const sidebar = page.locator('[data-testid="stSidebar"]');
    await sidebar.locator('[data-testid="stRadio"]').filter({ hasText: "Song source" })
      .getByText("Upload a file", { exact: true }).click();
    await waitIdle(page, `${step}: switching the source`);
    const input = sidebar.locator('input[type="file"]');
    await input.waitFor({ state: "attached", timeout: 30_000 });
    log("uploading a generated WAV");
    await input.setInputFiles({ name: UPLOAD_NAME, mimeType: "audio/wav", buffer: makeWav() });
    await page.locator('[data-testid="stHeading"]', { hasText: UPLOAD_NAME })
      .waitFor({ timeout: PAGE_TIMEOUT_MS }).catch(() => failures.push(`${step}: the Song page never showed ${UPLOAD_NAME}`));
    await waitIdle(page, step);
    const upCharts = await page.locator('[data-testid="stPlotlyChart"]').count();
    log(`${step}: ${upCharts} chart(s)`);
    if (upCharts === 0) failures.push(`${step}: no plotly chart for the uploaded song`);
    await checkPage(page, step);
    await screenshot(page, "song-upload");

    // 3. every page in the navigation, by clicking its link (a new URL would start a new session)
    const view = sidebar.locator('[data-testid="stSidebarNavViewButton"]');
    if (await view.count()) await view.first().click(); // "View more" when the nav is collapsed
    const links = sidebar.locator('[data-testid="stSidebarNav"] a');
    const pages = [];
    for (const link of await links.all()) {
      pages.push({ title: (await link.innerText()).trim().replace(/\s+/g, " "), href: await link.getAttribute("href") });
    }
    log(`navigation: ${pages.map((p) => p.title).join(" | ")}`);
    if (pages.length < MIN_PAGES) failures.push(`navigation lists ${pages.length} pages, expected at least ${MIN_PAGES}`);
    for (const [i, { title, href }] of pages.entries()) {
      step = title;
      const t = Date.now();
      await links.nth(i).click();
      await page.waitForURL((u) => u.href.split("?")[0].endsWith(new URL(href, URL_ + "/").pathname), { timeout: 30_000 })
        .catch(() => {});
      await waitIdle(page, title);
      await checkPage(page, title);
      log(`${title}: ${((Date.now() - t) / 1000).toFixed(1)} s, `
        + `${await page.locator('[data-testid="stPlotlyChart"]').count()} chart(s)`);
      await screenshot(page, title);
      // the Emotion lab: render the default preset and wait for the models' curves beside the design
      if (/emotion lab/i.test(title)) {
        // draw a path from sad (lower left) to excited (upper right) on the plane with the mouse
        step = `${title}: draw a path`;
        await page.getByText("Draw your own", { exact: true }).click();
        await waitIdle(page, step);
        const plane = page.locator('[data-testid="stPlotlyChart"]').first();
        await plane.scrollIntoViewIfNeeded();
        const drag = plane.locator(".nsewdrag").first();
        const box = await drag.boundingBox();
        if (!box) throw new Error(`${step}: the drawing plane has no drag layer`);
        await page.mouse.move(box.x + 0.25 * box.width, box.y + 0.8 * box.height);
        await page.mouse.down();
        for (let i = 1; i <= 20; i++) {
          const f = i / 20;
          await page.mouse.move(box.x + (0.25 + 0.5 * f) * box.width, box.y + (0.8 - 0.6 * f) * box.height
            + 0.08 * box.height * Math.sin(Math.PI * f), { steps: 2 });
        }
        await page.mouse.up();
        await page.getByText(/Drawn path: \d+ points/).first().waitFor({ timeout: 60_000 });
        await waitIdle(page, step);
        await checkPage(page, step);
        await screenshot(page, `${title}-drawn`);
        step = `${title}: render and analyse`;
        const r = Date.now();
        await page.getByRole("button", { name: "Render and analyse" }).click();
        await page.locator('[data-testid="stAudio"]').first().waitFor({ timeout: PAGE_TIMEOUT_MS });
        await waitIdle(page, step);
        await checkPage(page, step);
        log(`${step}: ${((Date.now() - r) / 1000).toFixed(1)} s, `
          + `${await page.locator('[data-testid="stPlotlyChart"]').count()} chart(s)`);
        await screenshot(page, `${title}-rendered`);
      }
    }

    // 4. the dark theme: a second server started with --theme.base dark (.streamlit/config.toml pins the
    // light theme, which also hides the settings menu's theme switch). Only pages that analyse nothing,
    // so this costs seconds: the corpus page's charts and the About page's text.
    if (DARK_URL) {
      for (const { title, href } of pages.filter((p) => /corpus|about/i.test(p.title))) {
        step = `${title} (dark theme)`;
        const t = Date.now();
        await page.goto(new URL(new URL(href, URL_ + "/").pathname, DARK_URL + "/").href,
          { waitUntil: "domcontentloaded", timeout: 60_000 });
        await page.locator('[data-testid="stSidebarNav"]').waitFor({ timeout: 60_000 });
        await waitIdle(page, step);
        await checkPage(page, step);
        const bg = await page.locator('[data-testid="stApp"]').evaluate((el) => getComputedStyle(el).backgroundColor);
        const [r, g, b] = bg.match(/\d+/g).map(Number);
        if (r + g + b > 3 * 128) failures.push(`${step}: the background is ${bg}, not dark`);
        log(`${step}: ${((Date.now() - t) / 1000).toFixed(1)} s, background ${bg}`);
        await screenshot(page, `${title}-dark`);
      }
    }
  } catch (err) {
    failures.push(`[${step}] ${err.stack || err}`);
    await screenshot(page, `failed-${step}`).catch(() => {});
  } finally {
    await browser.close();
  }

  writeFileSync(join(ARTIFACTS, "result.txt"), failures.length ? failures.join("\n\n") + "\n" : "ok\n");
  if (failures.length) {
    console.error(`\n${failures.length} problem(s) in the browser:\n\n${failures.join("\n\n")}`);
    process.exit(1);
  }
  log(`ok: every page ran without errors; screenshots in ${ARTIFACTS}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
