// MuJo clip player: one clock (the video's currentTime, or a JS clock when the clip has no video) drives the
// skeleton frame and the IMU cursor. Dataset text is only ever set with textContent.
(function () {
  "use strict";
  const P = JSON.parse(document.getElementById("mujo-payload").textContent);
  const root = document.getElementById("mujo-player");
  const $ = (id) => document.getElementById(id);
  const DPR = Math.max(1, window.devicePixelRatio || 1);
  const fps = P.fps;
  const duration = Math.max(P.duration, 1 / fps);  // a clip with no samples still gets a usable timeline
  const STORE_KEY = "mujo.player";

  function note(parent, text, isError) {
    const d = document.createElement("div");
    d.className = "note" + (isError ? " error" : "");
    d.textContent = text;
    parent.appendChild(d);
    return d;
  }
  function b64bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const f32 = (b64) => new Float32Array(b64bytes(b64).buffer);
  const fmt = (t) => (isFinite(t) ? t.toFixed(2) : "–");

  // ---------------------------------------------------------------- header text
  $("title").textContent = P.title || "(no chapter title)";
  $("title").title = P.title || "";
  $("meta").textContent = P.clip_id + " \u00b7 " + duration.toFixed(1) + " s \u00b7 " + fps + " Hz";

  // ---------------------------------------------------------------- remembered position across reruns
  // Streamlit re-creates this iframe on every rerun (e.g. when another IMU site is picked); the position is kept
  // in sessionStorage and restored unless the page asked for a new start (a new token).
  function loadStored() {
    try {
      const s = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
      if (s && s.token === P.start_token && s.clip === P.clip_id && isFinite(s.t)) return s.t;
    } catch (e) { /* storage unavailable: start at start_time */ }
    return null;
  }
  let lastStored = -1;
  function store(t) {
    if (Math.abs(t - lastStored) < 0.05) return;
    lastStored = t;
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify({ token: P.start_token, clip: P.clip_id, t: t }));
    } catch (e) { /* ignore */ }
    // Keep ?t= in the address bar current, so copying the URL shares this moment (best effort).
    try {
      const w = window.parent;
      const u = new URL(w.location.href);
      if (u.searchParams.get("clip") === P.clip_id) {
        u.searchParams.set("t", t.toFixed(2));
        w.history.replaceState(w.history.state, "", u.toString());
      }
    } catch (e) { /* cross-origin or sandboxed: ignore */ }
  }
  const storedT = loadStored();
  const startT = Math.min(Math.max(0, storedT !== null ? storedT : P.start_time), Math.max(0, duration - 1e-3));

  // ---------------------------------------------------------------- the clock
  let clock = null;
  function makeJsClock(t0) {
    let base = t0, since = null;
    const c = {
      kind: "js",
      get() { return since === null ? base : Math.min(duration, base + (performance.now() - since) / 1000); },
      seek(t) { base = Math.min(Math.max(0, t), duration); if (since !== null) since = performance.now(); render(); },
      play() { if (base >= duration - 1e-3) base = 0; since = performance.now(); updateTransport(); },
      pause() { base = c.get(); since = null; updateTransport(); store(base); },
      playing() { return since !== null; },
    };
    return c;
  }
  function updateTransport() {
    const btn = $("play-btn");
    btn.textContent = clock && clock.playing() ? "\u275a\u275a" : "\u25b6";
  }
  function useJsClock(t0) {
    clock = makeJsClock(t0);
    const tr = $("transport");
    tr.classList.add("on");
    const scrub = $("scrub");
    scrub.max = String(duration);
    $("play-btn").addEventListener("click", () => { clock.playing() ? clock.pause() : clock.play(); });
    let scrubbing = false;
    scrub.addEventListener("input", () => { scrubbing = true; clock.seek(parseFloat(scrub.value)); });
    scrub.addEventListener("change", () => { scrubbing = false; store(clock.get()); });
    clock.syncTransport = (t) => {
      if (!scrubbing) scrub.value = String(t);
      $("clock-time").textContent = fmt(t) + " / " + fmt(duration) + " s";
    };
    root.dataset.clock = "js";
    updateTransport();
  }

  const videoSlot = $("video-slot");
  let video = null;
  if (P.video) {
    video = document.createElement("video");
    video.id = "video";
    video.controls = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = "auto";
    try {
      video.src = URL.createObjectURL(new Blob([b64bytes(P.video.b64)], { type: P.video.mime }));
    } catch (e) {
      video = null;
      note(videoSlot, "Could not load " + P.video.name + ": " + e, true);
    }
  }
  if (video) {
    videoSlot.replaceWith(video);
    clock = {
      kind: "video",
      get() { return video.currentTime; },
      seek(t) {
        const end = isFinite(video.duration) ? video.duration : duration;
        video.currentTime = Math.min(Math.max(0, t), Math.max(0, end - 1e-3));
        render();
      },
      play() { return video.play(); },
      pause() { video.pause(); },
      playing() { return !video.paused && !video.ended; },
    };
    root.dataset.clock = "video";
    video.addEventListener("loadedmetadata", () => { if (startT > 0) video.currentTime = startT; render(); });
    for (const ev of ["seeking", "seeked", "timeupdate", "play", "pause"]) video.addEventListener(ev, render);
    video.addEventListener("pause", () => store(video.currentTime));
    video.addEventListener("seeked", () => { if (video.paused) store(video.currentTime); });
    video.addEventListener("error", () => {
      const code = video.error ? video.error.code : "?";
      const msg = "The browser cannot play " + P.video.name + " (media error " + code + "); a plain clock drives the view.";
      const box = document.createElement("div");
      box.className = "noclock-fill";
      note(box, msg, true);
      video.replaceWith(box);
      const t = video.currentTime || startT;
      video = null;
      useJsClock(t);
      render();
    });
  } else {
    if (P.notes.video) note(videoSlot, P.notes.video, /error|broken|cannot|could not/i.test(P.notes.video));
    else note(videoSlot, "No video for this clip: the clock below drives the skeleton and the IMU traces.");
    useJsClock(startT);
  }

  // ---------------------------------------------------------------- the 3D skeleton
  const posePanel = $("pose-panel");
  const poseCanvas = $("pose-canvas");
  let pose = null;
  if (P.pose) {
    pose = { data: f32(P.pose.b64), T: P.pose.n_frames, J: P.pose.joints, bones: P.pose.bones,
             center: P.pose.center, floor: P.pose.floor, radius: P.pose.radius };
  } else {
    poseCanvas.remove();
    $("pose-hint").remove();
    note(posePanel, P.notes.pose || "No pose for this clip.", !!P.notes.pose && /error|broken|cannot/i.test(P.notes.pose));
  }
  const VIEW0 = { yaw: 0.55, pitch: 0.32 };
  const view = { yaw: VIEW0.yaw, pitch: VIEW0.pitch };
  let poseDirty = true;
  const SIDE_COLOR = { L: "#1f77b4", R: "#d62728", C: "#4b5563" };

  function sizeCanvas(cv) {
    const w = Math.max(10, cv.clientWidth), h = Math.max(10, cv.clientHeight);
    if (cv.width !== Math.round(w * DPR) || cv.height !== Math.round(h * DPR)) {
      cv.width = Math.round(w * DPR);
      cv.height = Math.round(h * DPR);
      return true;
    }
    return false;
  }
  function drawPose(frame) {
    if (!pose) return;
    sizeCanvas(poseCanvas);
    const ctx = poseCanvas.getContext("2d");
    const W = poseCanvas.width / DPR, H = poseCanvas.height / DPR;
    ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const R = pose.radius, D = 3.2 * R;
    const f = 0.42 * Math.min(W, H) * D / R;
    const cy_ = Math.cos(view.yaw), sy = Math.sin(view.yaw), cp = Math.cos(view.pitch), sp = Math.sin(view.pitch);
    const [cx, cyw, cz] = pose.center;
    function project(x, y, z) {
      x -= cx; y -= cyw; z -= cz;
      const x1 = cy_ * x + sy * z, z1 = -sy * x + cy_ * z;
      const y2 = cp * y - sp * z1, z2 = sp * y + cp * z1;
      const depth = Math.max(0.05, D - z2);
      return [W / 2 + f * x1 / depth, H / 2 - f * y2 / depth, depth];
    }
    // floor grid, 0.5 m squares around the centre
    const step = 0.5, n = Math.ceil((R * 1.2) / step);
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#e3e6ec";
    for (let i = -n; i <= n; i++) {
      const a = project(cx + i * step, pose.floor, cz - n * step), b = project(cx + i * step, pose.floor, cz + n * step);
      const c = project(cx - n * step, pose.floor, cz + i * step), d = project(cx + n * step, pose.floor, cz + i * step);
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.moveTo(c[0], c[1]); ctx.lineTo(d[0], d[1]); ctx.stroke();
    }
    if (frame < 0) return;
    const J = pose.J, off = frame * J * 3, d = pose.data;
    const pts = [];
    for (let j = 0; j < J; j++) {
      const x = d[off + 3 * j], y = d[off + 3 * j + 1], z = d[off + 3 * j + 2];
      pts.push(isFinite(x) && isFinite(y) && isFinite(z) ? project(x, y, z) : null);
    }
    // a shadow of the hip on the floor helps read depth
    const hip = [d[off], d[off + 1], d[off + 2]];
    if (hip.every(isFinite)) {
      const s = project(hip[0], pose.floor, hip[2]);
      ctx.fillStyle = "rgba(0,0,0,0.08)";
      ctx.beginPath(); ctx.ellipse(s[0], s[1], f * 0.25 / s[2], f * 0.08 / s[2], 0, 0, 2 * Math.PI); ctx.fill();
    }
    // far bones first so near ones are drawn on top
    const order = pose.bones.map((b, i) => [i, pts[b[0]] && pts[b[1]] ? (pts[b[0]][2] + pts[b[1]][2]) / 2 : 0])
      .sort((a, b) => b[1] - a[1]);
    ctx.lineCap = "round";
    for (const [i] of order) {
      const [p, c, side] = pose.bones[i];
      if (!pts[p] || !pts[c]) continue;
      ctx.strokeStyle = SIDE_COLOR[side];
      ctx.lineWidth = Math.max(2, f * 0.035 / pts[c][2]);
      ctx.beginPath(); ctx.moveTo(pts[p][0], pts[p][1]); ctx.lineTo(pts[c][0], pts[c][1]); ctx.stroke();
    }
    for (let j = 0; j < J; j++) {
      if (!pts[j]) continue;
      ctx.fillStyle = j === 10 ? "#111827" : "#ffffff";
      ctx.strokeStyle = "#111827";
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.arc(pts[j][0], pts[j][1], j === 10 ? 5 : 3, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    }
    // legend
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const lx = W - 92, ly = 14;
    [["left", "L"], ["right", "R"]].forEach(([name, side], k) => {
      ctx.strokeStyle = SIDE_COLOR[side]; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.moveTo(lx + k * 46, ly); ctx.lineTo(lx + k * 46 + 12, ly); ctx.stroke();
      ctx.fillStyle = "#4b5563"; ctx.fillText(name, lx + k * 46 + 16, ly);
    });
    ctx.fillStyle = "#6b7280";
    ctx.fillText("frame " + frame + " / " + (pose.T - 1), 8, H - 10);
  }
  if (pose) {
    let drag = null;
    poseCanvas.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, yaw: view.yaw, pitch: view.pitch };
      poseCanvas.setPointerCapture(e.pointerId); poseCanvas.classList.add("dragging");
    });
    poseCanvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      view.yaw = drag.yaw + (e.clientX - drag.x) * 0.01;
      view.pitch = Math.min(1.45, Math.max(-0.3, drag.pitch + (e.clientY - drag.y) * 0.01));
      poseDirty = true;
    });
    const end = () => { drag = null; poseCanvas.classList.remove("dragging"); };
    poseCanvas.addEventListener("pointerup", end);
    poseCanvas.addEventListener("pointercancel", end);
    poseCanvas.addEventListener("dblclick", () => { view.yaw = VIEW0.yaw; view.pitch = VIEW0.pitch; poseDirty = true; });
  }

  // ---------------------------------------------------------------- IMU traces
  const imuPanel = $("imu-panel");
  let imu = null;
  const L = { left: 58, right: 14, top: 24, gap: 6, strip: 22, axis: 26 };
  if (P.imu) {
    const cv = document.createElement("canvas");
    cv.id = "imu-canvas";
    imuPanel.appendChild(cv);
    imu = { canvas: cv, T: P.imu.n_frames, rows: P.imu.rows.map((r) => ({ site: r.site,
      series: r.series.map((s) => ({ name: s.name, color: s.color, v: f32(s.b64) })) })),
      layer: document.createElement("canvas") };
  } else {
    note(imuPanel, P.notes.imu || "No IMU for this clip.", !!P.notes.imu && /error|broken|cannot/i.test(P.notes.imu));
  }
  const windows = (P.windows && P.windows.starts) || [];
  const wsize = (P.windows && P.windows.size) || 100;

  function niceStep(span, target) {
    if (!(span > 0) || !isFinite(span)) return 1;
    const raw = span / Math.max(1, target), p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }
  function imuGeom() {
    const W = imu.canvas.width / DPR, H = imu.canvas.height / DPR, n = imu.rows.length;
    const plotW = W - L.left - L.right;
    const rowsH = H - L.top - L.strip - L.axis;
    const rowH = (rowsH - L.gap * (n - 1)) / n;
    return { W, H, n, plotW, rowH, x: (t) => L.left + (t / duration) * plotW,
             t: (x) => ((x - L.left) / plotW) * duration, stripY: L.top + rowsH + 2 };
  }
  function drawImuLayer() {
    sizeCanvas(imu.canvas);
    const g = imuGeom();
    const layer = imu.layer;
    layer.width = imu.canvas.width; layer.height = imu.canvas.height;
    const ctx = layer.getContext("2d");
    ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
    ctx.clearRect(0, 0, g.W, g.H);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    // legend and quantity
    let lx = L.left;
    const seen = imu.rows.length ? imu.rows[0].series : [];
    for (const s of seen) {
      ctx.strokeStyle = s.color; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(lx, 11); ctx.lineTo(lx + 14, 11); ctx.stroke();
      ctx.fillStyle = "#374151"; ctx.fillText(s.name, lx + 18, 11);
      lx += 22 + ctx.measureText(s.name).width + 12;
    }
    ctx.fillStyle = "#6b7280";
    ctx.textAlign = "right";
    ctx.fillText(P.imu.label + " (" + P.imu.unit + ") \u00b7 click or drag to seek \u00b7 shaded: " +
                 wsize + "-sample windows", g.W - L.right, 11);
    ctx.textAlign = "left";
    const dt = 1 / fps;
    for (let r = 0; r < g.n; r++) {
      const row = imu.rows[r];
      const y0 = L.top + r * (g.rowH + L.gap), y1 = y0 + g.rowH;
      let lo = Infinity, hi = -Infinity;
      for (const s of row.series) for (let i = 0; i < s.v.length; i++) { const v = s.v[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      if (!isFinite(lo)) { lo = -1; hi = 1; }
      if (hi - lo < 1e-6) { lo -= 1; hi += 1; }
      const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
      const yv = (v) => y1 - ((v - lo) / (hi - lo)) * g.rowH;
      ctx.fillStyle = "#ffffff"; ctx.fillRect(L.left, y0, g.plotW, g.rowH);
      // window bands: alternate shades so neighbouring (overlapping) windows stay distinguishable
      for (let k = 0; k < windows.length; k += 2) {
        const a = g.x(windows[k] * dt), b = g.x((windows[k] + wsize) * dt);
        ctx.fillStyle = (k / 2) % 2 ? "rgba(99,102,241,0.07)" : "rgba(16,185,129,0.07)";
        ctx.fillRect(a, y0, b - a, g.rowH);
      }
      // y grid
      const ys = niceStep(hi - lo, 3);
      ctx.strokeStyle = "#eef0f4"; ctx.lineWidth = 1; ctx.fillStyle = "#6b7280"; ctx.textAlign = "right";
      for (let v = Math.ceil(lo / ys) * ys; v <= hi; v += ys) {
        const y = yv(v);
        ctx.beginPath(); ctx.moveTo(L.left, y); ctx.lineTo(L.left + g.plotW, y); ctx.stroke();
        ctx.fillText((Math.abs(v) < 1e-9 ? 0 : +v.toPrecision(3)).toString(), L.left - 5, y);
      }
      ctx.textAlign = "left";
      // traces; NaN breaks the line
      ctx.save();
      ctx.beginPath(); ctx.rect(L.left, y0, g.plotW, g.rowH); ctx.clip();
      for (const s of row.series) {
        ctx.strokeStyle = s.color; ctx.lineWidth = 1.2;
        ctx.beginPath();
        let pen = false;
        for (let i = 0; i < s.v.length; i++) {
          const v = s.v[i];
          if (!isFinite(v)) { pen = false; continue; }
          const x = g.x(i * dt), y = yv(v);
          if (pen) ctx.lineTo(x, y); else { ctx.moveTo(x, y); pen = true; }
        }
        ctx.stroke();
      }
      ctx.restore();
      ctx.strokeStyle = "#c8ccd4"; ctx.strokeRect(L.left + 0.5, y0 + 0.5, g.plotW - 1, g.rowH - 1);
      // site name inside the row, units on the axis
      ctx.font = "600 11px system-ui, sans-serif";
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      const tw = ctx.measureText(row.site).width;
      ctx.fillRect(L.left + 4, y0 + 3, tw + 8, 15);
      ctx.fillStyle = "#111827"; ctx.fillText(row.site, L.left + 8, y0 + 11);
      ctx.font = "11px system-ui, sans-serif";
      ctx.save(); ctx.translate(12, (y0 + y1) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
      ctx.fillStyle = "#6b7280"; ctx.fillText(P.imu.unit, 0, 0); ctx.restore();
    }
    // windows strip: two lanes (even / odd windows), the trimmed ends left empty
    const sy = g.stripY;
    ctx.fillStyle = "#6b7280"; ctx.textAlign = "right"; ctx.fillText("windows", L.left - 5, sy + 9);
    ctx.textAlign = "left";
    ctx.fillStyle = "#f3f4f6"; ctx.fillRect(L.left, sy, g.plotW, 18);
    for (let k = 0; k < windows.length; k++) {
      const a = g.x(windows[k] * dt), b = g.x((windows[k] + wsize) * dt);
      const lane = k % 2;
      ctx.fillStyle = Math.floor(k / 2) % 2 ? "rgba(99,102,241,0.55)" : "rgba(16,185,129,0.55)";
      ctx.fillRect(a + 0.5, sy + 1 + lane * 9, Math.max(1, b - a - 1), 7);
    }
    // time axis
    const ay = sy + 20;
    const ts = niceStep(duration, Math.max(2, Math.floor(g.plotW / 70)));
    ctx.strokeStyle = "#9ca3af"; ctx.fillStyle = "#4b5563"; ctx.textAlign = "center"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(L.left, ay); ctx.lineTo(L.left + g.plotW, ay); ctx.stroke();
    for (let t = 0; t <= duration + 1e-9; t += ts) {
      const x = g.x(t);
      ctx.beginPath(); ctx.moveTo(x, ay); ctx.lineTo(x, ay + 4); ctx.stroke();
      ctx.fillText(+t.toPrecision(4) + (t === 0 ? " s" : ""), x, ay + 12);
    }
    ctx.textAlign = "left";
    imu.dirty = false;
  }
  function drawImu(t, win) {
    if (!imu) return;
    if (imu.dirty !== false || sizeCanvas(imu.canvas)) drawImuLayer();
    const g = imuGeom();
    const ctx = imu.canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, imu.canvas.width, imu.canvas.height);
    ctx.drawImage(imu.layer, 0, 0);
    ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
    const dt = 1 / fps;
    const bottom = g.stripY + 18;
    if (win >= 0) {  // the window the cursor is in
      const a = g.x(windows[win] * dt), b = g.x((windows[win] + wsize) * dt);
      ctx.strokeStyle = "rgba(17,24,39,0.55)"; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
      ctx.strokeRect(a, L.top, b - a, bottom - L.top); ctx.setLineDash([]);
    }
    const x = g.x(Math.min(Math.max(t, 0), duration));
    ctx.strokeStyle = "#e0115f"; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(x, L.top - 2); ctx.lineTo(x, bottom); ctx.stroke();
    // playhead label on the time axis, over the tick labels
    ctx.font = "600 11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    const label = fmt(t) + " s";
    const tw = ctx.measureText(label).width + 10;
    const lx = Math.min(Math.max(x - tw / 2, 0), g.W - tw), ly = bottom + 12;
    ctx.fillStyle = "#e0115f";
    ctx.fillRect(lx, ly - 8, tw, 16);
    ctx.fillStyle = "#ffffff"; ctx.textAlign = "center";
    ctx.fillText(label, lx + tw / 2, ly);
    ctx.textAlign = "left";
  }
  if (imu) {
    let seeking = false;
    const seekAt = (e) => {
      const rect = imu.canvas.getBoundingClientRect();
      const g = imuGeom();
      clock.seek(Math.min(Math.max(g.t(e.clientX - rect.left), 0), duration));
    };
    imu.canvas.addEventListener("pointerdown", (e) => { seeking = true; imu.canvas.setPointerCapture(e.pointerId); seekAt(e); });
    imu.canvas.addEventListener("pointermove", (e) => { if (seeking) seekAt(e); });
    const stop = () => { if (seeking) { seeking = false; store(clock.get()); } };
    imu.canvas.addEventListener("pointerup", stop);
    imu.canvas.addEventListener("pointercancel", stop);
  }

  // ---------------------------------------------------------------- one render step, driven by the clock
  let lastFrame = -2, lastT = -1, shown = "";
  function currentWindow(frame) {
    // the latest window that contains the frame (windows overlap by size - hop)
    let w = -1;
    for (let k = 0; k < windows.length; k++) {
      if (windows[k] <= frame && frame < windows[k] + wsize) w = k;
      else if (windows[k] > frame) break;
    }
    return w;
  }
  function render() {
    if (!clock) return;
    const t = clock.get();
    const frameT = Math.floor(t * fps + 1e-6);
    const frame = pose ? Math.min(Math.max(frameT, 0), pose.T - 1) : -1;
    if (pose && (frame !== lastFrame || poseDirty || sizeCanvas(poseCanvas))) { drawPose(frame); poseDirty = false; }
    const win = currentWindow(frameT);
    if (imu && (t !== lastT || imu.dirty !== false)) drawImu(t, win);
    if (clock.syncTransport) clock.syncTransport(t);
    lastFrame = frame; lastT = t;
    // The DOM only when something changed: writing it on every animation frame made every open tab, even a paused
    // one, recompute its style 60 times a second (several annotators' tabs on one machine starved each other).
    const playing = clock.playing() ? "1" : "0";
    const readout = "t " + fmt(t) + " s \u00b7 sample " + Math.min(Math.max(frameT, 0), P.n_frames - 1) +
      (win >= 0 ? " \u00b7 window " + win : "");
    const state = [t.toFixed(3), String(frame), imu ? t.toFixed(3) : "none", playing, String(win), readout];
    if (state.join("|") !== shown) {
      shown = state.join("|");
      [root.dataset.videoTime, root.dataset.poseFrame, root.dataset.imuCursorTime, root.dataset.playing,
       root.dataset.window] = state;
      $("readout").textContent = readout;
    }
    if (clock.kind === "js" && clock.playing() && t >= duration) clock.pause();
    if (clock.playing() && Math.floor(t) !== Math.floor(lastStored)) store(t);
  }
  function layoutImu() {
    // the IMU panel fills the rest of the iframe, whose height the page computed for the number of rows
    if (!imu) return;
    const top = imuPanel.getBoundingClientRect().top;
    imuPanel.style.height = Math.max(120, window.innerHeight - top - 4) + "px";
    imu.dirty = true;
  }
  function loop() { render(); window.requestAnimationFrame(loop); }
  window.addEventListener("resize", () => { poseDirty = true; layoutImu(); render(); });
  // Letter keys pressed while the player has the focus (after a click on the video or a plot) are handed to the
  // page around it, so the app's one-key shortcuts (the Curation page's N/A/U/B/J/K/Z) keep working. Space and
  // the arrows stay with the video (play/pause, seeking).
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !/^[a-z]$/i.test(e.key)) return;
    const init = { key: e.key, code: e.code, keyCode: e.keyCode, which: e.which, shiftKey: e.shiftKey,
                   bubbles: true, cancelable: true };
    try {
      const doc = window.parent.document;
      (doc.activeElement || doc.body).dispatchEvent(new KeyboardEvent("keydown", init));
      (doc.activeElement || doc.body).dispatchEvent(new KeyboardEvent("keyup", init));
    } catch (err) { /* a parent of another origin: nothing to hand the key to */ }
  });
  layoutImu();
  // Tests drive the player through these (and read the data-* attributes on #mujo-player).
  window.mujoPlayer = { seek: (t) => clock.seek(t), play: () => clock.play(), pause: () => clock.pause(),
                        time: () => clock.get(), clockKind: () => clock.kind };
  if (imu) imu.dirty = true;
  render();
  root.dataset.ready = "1";
  window.requestAnimationFrame(loop);
})();
