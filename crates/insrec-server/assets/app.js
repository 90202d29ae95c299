// InsRec page: upload, analyse through /api/analyze, and show the result (summary, bars, timeline, spectrogram).
// No dependencies; the spectrogram is computed in /assets/spectrogram-worker.js.
"use strict";

(() => {
  const FRAME_SECONDS = 0.96;
  const SPEC_SAMPLE_RATE = 16000;
  const SPEC_MAX_COLUMNS = 8192;
  const MIN_VIEW_SECONDS = 2;
  const PAD = { left: 44, right: 12, top: 10, bottom: 26 };
  const PALETTE = [
    "#2f5bd3", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#e84393", "#2d9c3c", "#6c5ce7", "#c0392b", "#00a8e8",
    "#a0522d", "#7f8c8d", "#d35400", "#16a085", "#b8860b", "#5d6d7e", "#ff6f61", "#1abc9c", "#9b59b6", "#34495e",
  ];

  const $ = (id) => document.getElementById(id);
  const ui = {
    drop: $("drop"), file: $("file"), fileInfo: $("file-info"), player: $("player"),
    form: $("controls"), model: $("model"), modelHelp: $("model-help"), topk: $("topk"), topkRange: $("topk-range"),
    analyze: $("analyze"), cancel: $("cancel"), progressBox: $("progress-box"), progress: $("progress"),
    status: $("status"), error: $("error"), results: $("results"),
    topName: $("top-name"), topScore: $("top-score"), topWiki: $("top-wiki"), present: $("present"),
    meta: $("result-meta"), dlJson: $("dl-json"), dlCsv: $("dl-csv"), bars: $("bars"), legend: $("legend"),
    timeline: $("timeline"), timelineOverlay: $("timeline-overlay"), tooltip: $("tooltip"),
    spec: $("spectrogram"), specOverlay: $("spec-overlay"), specStatus: $("spec-status"),
  };

  const state = {
    file: null,
    fileUrl: null,
    limits: null,
    wiki: {},
    report: null,
    ranked: [],          // [{ index, name, score }] by descending overall score
    hidden: new Set(),   // class indices switched off in the legend
    view: { t0: 0, t1: 1 },
    duration: 0,
    hoverFrame: null,
    request: null,
    specImage: null,     // { canvas, secondsPerColumn }
    specWorker: null,
  };

  // ---- helpers ------------------------------------------------------------------------------------------

  const label = (name) => name.replace(/_/g, " ");
  const percent = (p) => `${Math.round(p * 100)}%`;
  const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

  function formatTime(seconds) {
    const m = Math.floor(seconds / 60);
    const s = seconds - m * 60;
    return `${m}:${s < 10 ? "0" : ""}${s.toFixed(1)}`;
  }

  function formatBytes(bytes) {
    if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
    if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
    return `${bytes} B`;
  }

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }

  function setStatus(message) {
    ui.status.textContent = message;
  }

  function topK() {
    return clamp(parseInt(ui.topk.value, 10) || 5, 1, 20);
  }

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // ---- start-up: models, classes, limits -------------------------------------------------------------------

  async function loadServerInfo() {
    try {
      const [models, classes, health] = await Promise.all(
        ["/api/models", "/api/classes", "/api/health"].map(async (url) => {
          const response = await fetch(url);
          if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
          return response.json();
        }),
      );
      ui.model.replaceChildren(...models.models.map((m) => {
        const label = m.name === models.default ? `${m.name} (default)` : m.name;
        const option = new Option(m.available ? label : `${label} — unavailable`, m.name);
        option.title = m.description;
        return option;
      }));
      // The default model, or the first that loaded when the default did not.
      const usable = models.models.find((m) => m.name === models.default && m.available)
        || models.models.find((m) => m.available);
      ui.model.value = (usable || models.models[0] || { name: "" }).name;
      describeModel(models.models);
      ui.model.addEventListener("change", () => describeModel(models.models));
      for (const c of classes.classes) state.wiki[c.name] = c.wikipedia_url;
      state.limits = health.limits;
    } catch (err) {
      showError(`Could not reach the InsRec server (${err.message}). Reload the page to try again.`);
    }
  }

  function describeModel(models) {
    const chosen = models.find((m) => m.name === ui.model.value);
    ui.modelHelp.textContent = chosen ? chosen.description : "";
  }

  // ---- choosing a file -------------------------------------------------------------------------------------

  function chooseFile(file) {
    if (!file) return;
    showError("");
    if (state.limits && file.size > state.limits.max_upload_bytes) {
      showError(`${file.name} is ${formatBytes(file.size)}; the server accepts up to ${formatBytes(state.limits.max_upload_bytes)}.`);
      return;
    }
    state.file = file;
    if (state.fileUrl) URL.revokeObjectURL(state.fileUrl);
    state.fileUrl = URL.createObjectURL(file);
    ui.player.src = state.fileUrl;
    ui.player.hidden = false;
    ui.fileInfo.textContent = `${file.name} · ${formatBytes(file.size)}`;
    ui.analyze.disabled = false;
    ui.results.hidden = true;
    state.report = null;
    document.body.dataset.state = "ready";
    setStatus("Ready to analyze.");
    computeSpectrogram(file);
  }

  ui.file.addEventListener("change", () => chooseFile(ui.file.files[0]));

  for (const type of ["dragenter", "dragover"]) {
    ui.drop.addEventListener(type, (event) => {
      event.preventDefault();
      ui.drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    ui.drop.addEventListener(type, () => ui.drop.classList.remove("dragging"));
  }
  ui.drop.addEventListener("drop", (event) => {
    event.preventDefault();
    chooseFile(event.dataTransfer.files[0]);
  });
  // A file dropped elsewhere must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  // ---- top-k control ---------------------------------------------------------------------------------------

  function onTopKChange(source) {
    const k = clamp(parseInt(source.value, 10) || 1, 1, 20);
    const changed = String(k) !== ui.topkRange.value || String(k) !== ui.topk.value;
    ui.topk.value = String(k);
    ui.topkRange.value = String(k);
    // Re-render only on a real change: a "change" event on blur must not rebuild the legend under a click.
    if (state.report && (changed || ui.legend.children.length !== k)) renderTimeline();
  }
  ui.topk.addEventListener("input", () => {
    if (ui.topk.value !== "") onTopKChange(ui.topk);
  });
  ui.topk.addEventListener("change", () => onTopKChange(ui.topk.value === "" ? ui.topkRange : ui.topk));
  ui.topkRange.addEventListener("input", () => onTopKChange(ui.topkRange));

  // ---- analysis request ------------------------------------------------------------------------------------

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (state.file && !state.request) analyze(state.file);
  });
  ui.cancel.addEventListener("click", () => state.request && state.request.abort());

  function analyze(file) {
    showError("");
    const query = new URLSearchParams({ model: ui.model.value });
    const body = new FormData();
    body.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    state.request = xhr;
    xhr.open("POST", `/api/analyze?${query}`);
    xhr.responseType = "text";
    let timer = null;
    const started = performance.now();
    const busy = (on) => {
      ui.analyze.disabled = on;
      ui.cancel.hidden = !on;
      ui.progressBox.hidden = !on;
      ui.form.setAttribute("aria-busy", String(on));
      document.body.dataset.state = on ? "analyzing" : document.body.dataset.state;
    };
    const finish = () => {
      clearInterval(timer);
      state.request = null;
      busy(false);
    };
    busy(true);
    ui.progress.value = 0;
    setStatus("Uploading…");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      ui.progress.value = (event.loaded / event.total) * 100;
      setStatus(`Uploading… ${percent(event.loaded / event.total)}`);
    });
    xhr.upload.addEventListener("load", () => {
      ui.progress.removeAttribute("value");
      const tick = () => setStatus(`Analyzing… ${Math.round((performance.now() - started) / 1000)} s`);
      tick();
      timer = setInterval(tick, 1000);
    });
    xhr.addEventListener("load", () => {
      finish();
      let reply = null;
      try {
        reply = JSON.parse(xhr.responseText);
      } catch {
        reply = null;
      }
      if (xhr.status === 200 && reply && reply.files && reply.files.length === 1) {
        if (reply.files[0].error) {
          document.body.dataset.state = "failed";
          setStatus("");
          showError(`Analysis failed: ${reply.files[0].error}`);
          return;
        }
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        setStatus(`Done in ${seconds} s.`);
        showResult(reply);
        return;
      }
      document.body.dataset.state = "failed";
      setStatus("");
      const reason = reply && reply.error ? reply.error : `HTTP ${xhr.status}`;
      const retry = xhr.getResponseHeader("Retry-After");
      showError(`The server refused the file: ${reason}${retry ? ` (try again in ${retry} s)` : ""}`);
    });
    xhr.addEventListener("error", () => {
      finish();
      document.body.dataset.state = "failed";
      setStatus("");
      showError("The connection to the server failed.");
    });
    xhr.addEventListener("abort", () => {
      finish();
      document.body.dataset.state = "ready";
      setStatus("Cancelled.");
    });
    xhr.send(body);
  }

  // ---- results: summary and bars ---------------------------------------------------------------------------

  function showResult(report) {
    const file = report.files[0];
    state.report = report;
    state.duration = Math.max(file.duration_s, file.frames.length * FRAME_SECONDS, FRAME_SECONDS);
    state.ranked = report.classes
      .map((name, index) => ({ index, name, score: file.scores[name] }))
      .sort((a, b) => b.score - a.score);
    state.hidden.clear();
    state.view = { t0: 0, t1: state.duration };
    ui.results.hidden = false;

    const top = state.ranked[0];
    ui.topName.textContent = label(top.name);
    ui.topScore.textContent = percent(top.score);
    ui.topScore.setAttribute("aria-label", `confidence ${percent(top.score)}`);
    ui.topWiki.href = state.wiki[top.name] || `https://en.wikipedia.org/wiki/${encodeURIComponent(top.name)}`;
    ui.topWiki.textContent = `About the ${label(top.name)} on Wikipedia`;

    ui.present.replaceChildren(...(file.present.length
      ? file.present.map((name) => Object.assign(document.createElement("li"), {
        textContent: `${label(name)} ${percent(file.scores[name])}`,
      }))
      : [Object.assign(document.createElement("li"), { className: "none", textContent: "No instrument above its threshold." })]));

    ui.meta.textContent = `${file.path} · ${formatTime(file.duration_s)} · ${file.frames.length} frames of ${FRAME_SECONDS} s · model ${report.model}`;

    const present = new Set(file.present);
    ui.bars.replaceChildren(...state.ranked.map(({ name, score }) => {
      const li = document.createElement("li");
      li.className = present.has(name) ? "present" : "";
      li.innerHTML = '<span class="name"></span><span class="track" aria-hidden="true"><span class="fill"></span></span><span class="value"></span>';
      li.querySelector(".name").textContent = label(name);
      li.querySelector(".fill").style.width = `${(score * 100).toFixed(1)}%`;
      li.querySelector(".value").textContent = percent(score);
      if (present.has(name)) li.title = "judged present";
      return li;
    }));

    document.body.dataset.state = "done";
    renderTimeline();
    drawSpectrogram();
  }

  // ---- downloads -------------------------------------------------------------------------------------------

  function download(text, type, suffix) {
    const base = (state.file ? state.file.name : "insrec").replace(/\.[^.]+$/, "");
    const url = URL.createObjectURL(new Blob([text], { type }));
    const a = Object.assign(document.createElement("a"), { href: url, download: `${base}.insrec.${suffix}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  ui.dlJson.addEventListener("click", () => {
    if (state.report) download(`${JSON.stringify(state.report, null, 2)}\n`, "application/json", "json");
  });

  ui.dlCsv.addEventListener("click", () => {
    if (!state.report) return;
    const quote = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const lines = [["path", "start_s", ...state.report.classes].join(",")];
    for (const file of state.report.files) {
      // Same columns and precision as `insrec analyze --format csv`.
      for (const frame of file.frames) {
        lines.push([quote(file.path), frame.start_s.toFixed(2), ...frame.scores.map((s) => s.toFixed(4))].join(","));
      }
    }
    download(`${lines.join("\n")}\n`, "text/csv", "csv");
  });

  // ---- canvas geometry shared by the timeline and the spectrogram ------------------------------------------

  function fit(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { ctx, width, height };
  }

  function xOf(t, width) {
    const { t0, t1 } = state.view;
    return PAD.left + ((t - t0) / (t1 - t0)) * (width - PAD.left - PAD.right);
  }

  function tOf(x, width) {
    const { t0, t1 } = state.view;
    return t0 + ((x - PAD.left) / (width - PAD.left - PAD.right)) * (t1 - t0);
  }

  function niceStep(span, pixels) {
    const raw = span / Math.max(1, pixels / 90);
    const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200];
    return steps.find((s) => s >= raw) || 3600;
  }

  // ---- timeline chart --------------------------------------------------------------------------------------

  function shownClasses() {
    return state.ranked.slice(0, topK()).map((c, i) => ({ ...c, color: PALETTE[i % PALETTE.length] }));
  }

  function renderTimeline() {
    const shown = shownClasses();
    ui.legend.replaceChildren(...shown.map((c) => {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", String(!state.hidden.has(c.index)));
      button.innerHTML = '<span class="swatch" aria-hidden="true"></span><span></span>';
      button.firstChild.style.background = c.color;
      button.lastChild.textContent = `${label(c.name)} ${percent(c.score)}`;
      button.addEventListener("click", () => {
        if (state.hidden.has(c.index)) state.hidden.delete(c.index);
        else state.hidden.add(c.index);
        button.setAttribute("aria-pressed", String(!state.hidden.has(c.index)));
        drawTimeline();
      });
      return button;
    }));
    drawTimeline();
  }

  function drawTimeline() {
    if (!state.report) return;
    const { ctx, width, height } = fit(ui.timeline);
    const frames = state.report.files[0].frames;
    const plotBottom = height - PAD.bottom, plotHeight = plotBottom - PAD.top;
    const yOf = (p) => plotBottom - p * plotHeight;
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px system-ui, sans-serif";
    ctx.lineWidth = 1;

    // Axes and grid.
    ctx.strokeStyle = css("--line");
    ctx.fillStyle = css("--muted");
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const p of [0, 0.25, 0.5, 0.75, 1]) {
      ctx.beginPath();
      ctx.moveTo(PAD.left, Math.round(yOf(p)) + 0.5);
      ctx.lineTo(width - PAD.right, Math.round(yOf(p)) + 0.5);
      ctx.stroke();
      ctx.fillText(percent(p), PAD.left - 6, yOf(p));
    }
    const { t0, t1 } = state.view;
    const step = niceStep(t1 - t0, width - PAD.left - PAD.right);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) {
      const x = xOf(t, width);
      ctx.fillText(formatTime(t).replace(/\.0$/, ""), x, plotBottom + 6);
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, plotBottom);
      ctx.lineTo(Math.round(x) + 0.5, plotBottom + 4);
      ctx.stroke();
    }

    // One line per shown class, clipped to the plot.
    ctx.save();
    ctx.beginPath();
    ctx.rect(PAD.left, PAD.top - 2, width - PAD.left - PAD.right, plotHeight + 4);
    ctx.clip();
    const first = Math.max(0, Math.floor(t0 / FRAME_SECONDS) - 1);
    const last = Math.min(frames.length - 1, Math.ceil(t1 / FRAME_SECONDS) + 1);
    let lines = 0;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    for (const c of shownClasses().reverse()) {
      if (state.hidden.has(c.index)) continue;
      ctx.strokeStyle = c.color;
      ctx.beginPath();
      for (let i = first; i <= last; i++) {
        const x = xOf(frames[i].start_s + FRAME_SECONDS / 2, width);
        const y = yOf(frames[i].scores[c.index]);
        if (i === first) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      if (first === last) ctx.arc(xOf(frames[first].start_s + FRAME_SECONDS / 2, width), yOf(frames[first].scores[c.index]), 2, 0, 2 * Math.PI);
      ctx.stroke();
      lines++;
    }
    ctx.restore();
    ui.timeline.dataset.lines = String(lines);
    ui.timeline.setAttribute("aria-label", timelineSummary());
    drawOverlays();
  }

  function timelineSummary() {
    const shown = shownClasses().filter((c) => !state.hidden.has(c.index));
    const names = shown.map((c) => `${label(c.name)} ${percent(c.score)}`).join(", ");
    return `Scores over time from ${formatTime(state.view.t0)} to ${formatTime(state.view.t1)} for ${names || "no instrument"}.`;
  }

  // Playhead and hover line on both charts; cheap enough to run every animation frame.
  function drawOverlays() {
    for (const canvas of [ui.timelineOverlay, ui.specOverlay]) {
      const { ctx, width, height } = fit(canvas);
      ctx.clearRect(0, 0, width, height);
      const bottom = canvas === ui.timelineOverlay ? height - PAD.bottom : height;
      const vline = (t, color, dash) => {
        const x = xOf(t, width);
        if (x < PAD.left - 1 || x > width - PAD.right + 1) return;
        ctx.strokeStyle = color;
        ctx.setLineDash(dash);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(x, PAD.top - 4);
        ctx.lineTo(x, bottom);
        ctx.stroke();
      };
      if (state.hoverFrame !== null && canvas === ui.timelineOverlay) {
        vline(state.report.files[0].frames[state.hoverFrame].start_s + FRAME_SECONDS / 2, css("--muted"), [4, 4]);
      }
      if (state.report && ui.player.src) vline(ui.player.currentTime, css("--bad"), []);
    }
  }

  function showTooltip(x, y) {
    const frames = state.report.files[0].frames;
    const t = tOf(x, ui.timeline.clientWidth);
    const i = clamp(Math.floor(t / FRAME_SECONDS), 0, frames.length - 1);
    state.hoverFrame = i;
    const frame = frames[i];
    const rows = shownClasses()
      .filter((c) => !state.hidden.has(c.index))
      .map((c) => ({ ...c, value: frame.scores[c.index] }))
      .sort((a, b) => b.value - a.value);
    ui.tooltip.replaceChildren();
    const head = Object.assign(document.createElement("div"), {
      className: "t", textContent: `${formatTime(frame.start_s)} – ${formatTime(frame.start_s + FRAME_SECONDS)}`,
    });
    ui.tooltip.append(head);
    for (const r of rows) {
      const row = document.createElement("div");
      row.className = "row";
      row.innerHTML = '<span class="swatch"></span><span></span><b></b>';
      row.children[0].style.background = r.color;
      row.children[1].textContent = label(r.name);
      row.children[2].textContent = percent(r.value);
      ui.tooltip.append(row);
    }
    ui.tooltip.hidden = false;
    const box = ui.timeline.parentElement.getBoundingClientRect();
    const tip = ui.tooltip.getBoundingClientRect();
    const left = x + 14 + tip.width > box.width ? x - 14 - tip.width : x + 14;
    ui.tooltip.style.left = `${Math.max(0, left)}px`;
    ui.tooltip.style.top = `${clamp(y - tip.height / 2, 0, Math.max(0, box.height - tip.height))}px`;
    drawOverlays();
  }

  function hideTooltip() {
    ui.tooltip.hidden = true;
    state.hoverFrame = null;
    drawOverlays();
  }

  // ---- zoom, pan, seek -------------------------------------------------------------------------------------

  function setView(t0, t1) {
    const span = clamp(t1 - t0, Math.min(MIN_VIEW_SECONDS, state.duration), state.duration);
    const start = clamp(t0, 0, state.duration - span);
    state.view = { t0: start, t1: start + span };
    drawTimeline();
    drawSpectrogram();
  }

  function zoom(factor, center) {
    const { t0, t1 } = state.view;
    const c = center === undefined ? (t0 + t1) / 2 : center;
    setView(c - (c - t0) * factor, c + (t1 - c) * factor);
  }

  function pan(fraction) {
    const { t0, t1 } = state.view;
    const d = (t1 - t0) * fraction;
    setView(t0 + d, t1 + d);
  }

  function seek(t) {
    if (!ui.player.src) return;
    ui.player.currentTime = clamp(t, 0, state.duration);
    ui.player.play().catch(() => {});
    drawOverlays();
  }

  document.querySelectorAll("[data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      if (!state.report) return;
      const action = button.dataset.zoom;
      if (action === "in") zoom(0.5);
      else if (action === "out") zoom(2);
      else setView(0, state.duration);
    });
  });

  function attachPointer(canvas, { tooltip }) {
    const pointers = new Map();
    let drag = null, pinch = null;
    canvas.addEventListener("wheel", (event) => {
      if (!state.report) return;
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const factor = Math.pow(1.0015, event.deltaY + event.deltaX);
      zoom(factor, tOf(event.clientX - rect.left, rect.width));
    }, { passive: false });
    canvas.addEventListener("pointerdown", (event) => {
      if (!state.report) return;
      canvas.setPointerCapture(event.pointerId);
      pointers.set(event.pointerId, event.clientX);
      if (pointers.size === 1) {
        drag = { x: event.clientX, view: { ...state.view }, moved: false };
      } else if (pointers.size === 2) {
        const xs = [...pointers.values()];
        pinch = { distance: Math.abs(xs[0] - xs[1]) || 1, view: { ...state.view }, center: (xs[0] + xs[1]) / 2 };
        drag = null;
      }
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!state.report) return;
      const rect = canvas.getBoundingClientRect();
      if (pointers.has(event.pointerId)) pointers.set(event.pointerId, event.clientX);
      if (pinch && pointers.size === 2) {
        const xs = [...pointers.values()];
        const factor = pinch.distance / (Math.abs(xs[0] - xs[1]) || 1);
        const c = pinch.view.t0 + ((pinch.center - rect.left - PAD.left) / (rect.width - PAD.left - PAD.right)) * (pinch.view.t1 - pinch.view.t0);
        setView(c - (c - pinch.view.t0) * factor, c + (pinch.view.t1 - c) * factor);
        return;
      }
      if (drag) {
        const dx = event.clientX - drag.x;
        if (Math.abs(dx) > 4) drag.moved = true;
        if (drag.moved) {
          const dt = (dx / (rect.width - PAD.left - PAD.right)) * (drag.view.t1 - drag.view.t0);
          setView(drag.view.t0 - dt, drag.view.t1 - dt);
        }
      }
      if (tooltip && !drag?.moved && event.pointerType !== "touch") showTooltip(event.clientX - rect.left, event.clientY - rect.top);
    });
    const release = (event) => {
      const wasClick = drag && !drag.moved && pointers.size === 1 && event.type === "pointerup";
      pointers.delete(event.pointerId);
      if (pointers.size < 2) pinch = null;
      if (wasClick) {
        const rect = canvas.getBoundingClientRect();
        seek(tOf(event.clientX - rect.left, rect.width));
      }
      drag = null;
    };
    canvas.addEventListener("pointerup", release);
    canvas.addEventListener("pointercancel", release);
    if (tooltip) canvas.addEventListener("pointerleave", hideTooltip);
  }

  attachPointer(ui.timeline, { tooltip: true });
  attachPointer(ui.spec, { tooltip: false });

  ui.timeline.addEventListener("keydown", (event) => {
    if (!state.report) return;
    const handled = {
      ArrowLeft: () => pan(-0.1), ArrowRight: () => pan(0.1),
      "+": () => zoom(0.5), "=": () => zoom(0.5), "-": () => zoom(2),
      0: () => setView(0, state.duration),
      Home: () => setView(0, state.view.t1 - state.view.t0),
      End: () => setView(state.duration - (state.view.t1 - state.view.t0), state.duration),
      Enter: () => seek(state.view.t0),
    }[event.key];
    if (handled) {
      event.preventDefault();
      handled();
    }
  });

  // The playhead follows the audio; while playing, the view scrolls to keep it visible.
  function followPlayhead() {
    if (state.report && !ui.player.paused) {
      const t = ui.player.currentTime, { t0, t1 } = state.view;
      if (t > t1 || t < t0) {
        const span = t1 - t0;
        setView(t - span * 0.1, t + span * 0.9);
      } else {
        drawOverlays();
      }
    }
    requestAnimationFrame(followPlayhead);
  }
  requestAnimationFrame(followPlayhead);
  for (const type of ["seeked", "pause", "timeupdate"]) ui.player.addEventListener(type, () => state.report && drawOverlays());

  // ---- spectrogram -----------------------------------------------------------------------------------------

  async function computeSpectrogram(file) {
    if (state.specWorker) state.specWorker.terminate();
    state.specImage = null;
    ui.spec.dataset.columns = "0";
    ui.specStatus.textContent = "Decoding audio…";
    let samples;
    try {
      const context = new OfflineAudioContext(1, 1, SPEC_SAMPLE_RATE);
      const audio = await context.decodeAudioData(await file.arrayBuffer());
      if (state.file !== file) return;
      samples = new Float32Array(audio.length);
      for (let ch = 0; ch < audio.numberOfChannels; ch++) {
        const data = audio.getChannelData(ch);
        for (let i = 0; i < data.length; i++) samples[i] += data[i] / audio.numberOfChannels;
      }
    } catch {
      ui.specStatus.textContent = "This browser cannot decode the file, so there is no spectrogram.";
      return;
    }
    const worker = new Worker("/assets/spectrogram-worker.js");
    state.specWorker = worker;
    worker.onmessage = ({ data }) => {
      if (data.type === "progress") {
        ui.specStatus.textContent = `Computing spectrogram… ${percent(data.done / data.total)}`;
      } else if (data.type === "done") {
        const canvas = document.createElement("canvas");
        canvas.width = data.width;
        canvas.height = data.height;
        canvas.getContext("2d").putImageData(new ImageData(data.pixels, data.width, data.height), 0, 0);
        state.specImage = { canvas, secondsPerColumn: data.secondsPerColumn };
        ui.specStatus.textContent = "Mel scale, 0–8 kHz";
        worker.terminate();
        state.specWorker = null;
        drawSpectrogram();
      } else {
        ui.specStatus.textContent = `Spectrogram failed: ${data.message}`;
      }
    };
    worker.postMessage({ samples, sampleRate: SPEC_SAMPLE_RATE, maxColumns: SPEC_MAX_COLUMNS }, [samples.buffer]);
  }

  function drawSpectrogram() {
    if (!state.report) return;
    const { ctx, width, height } = fit(ui.spec);
    ctx.clearRect(0, 0, width, height);
    const image = state.specImage;
    if (!image) {
      drawOverlays();
      return;
    }
    const { t0, t1 } = state.view;
    const plotWidth = width - PAD.left - PAD.right;
    ctx.imageSmoothingEnabled = true;
    const sx = t0 / image.secondsPerColumn;
    const sw = Math.max(1, (t1 - t0) / image.secondsPerColumn);
    const available = Math.min(sw, image.canvas.width - sx);
    if (available > 0) {
      ctx.drawImage(image.canvas, sx, 0, available, image.canvas.height, PAD.left, 0, plotWidth * (available / sw), height);
    }
    ctx.fillStyle = css("--muted");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    const melTop = 1127 * Math.log(1 + SPEC_SAMPLE_RATE / 2 / 700);
    for (const hz of [250, 1000, 2000, 4000, 8000]) {
      const y = height - (1127 * Math.log(1 + hz / 700) / melTop) * height;
      ctx.textBaseline = hz === 8000 ? "top" : "middle";
      ctx.fillText(hz >= 1000 ? `${hz / 1000}k` : String(hz), PAD.left - 6, y);
    }
    ui.spec.dataset.columns = String(image.canvas.width);
    drawOverlays();
  }

  // ---- resize ----------------------------------------------------------------------------------------------

  new ResizeObserver(() => {
    drawTimeline();
    drawSpectrogram();
  }).observe(ui.timeline);

  document.body.dataset.state = "empty";
  loadServerInfo();
})();
