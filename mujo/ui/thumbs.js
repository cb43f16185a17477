// MuJo retrieval result cards: every card's pose thumbnail loops its window on one shared clock, and a cursor
// on its |acc| sparkline follows the same frame. Dataset text is only ever set with textContent.
(function () {
  "use strict";
  const P = JSON.parse(document.getElementById("mujo-payload").textContent);
  const root = document.getElementById("mujo-results");
  const DPR = Math.max(1, window.devicePixelRatio || 1);
  const SIDE_COLOR = { L: "#1f77b4", R: "#d62728", C: "#4b5563" };
  const VIEW = { yaw: 0.55, pitch: 0.28 };

  function b64f32(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fit(cv) {
    const w = Math.max(10, cv.clientWidth), h = Math.max(10, cv.clientHeight);
    if (cv.width !== Math.round(w * DPR) || cv.height !== Math.round(h * DPR)) {
      cv.width = Math.round(w * DPR); cv.height = Math.round(h * DPR);
    }
    const ctx = cv.getContext("2d");
    ctx.setTransform(DPR, 0, 0, DPR, 0, 0);
    return { ctx, W: w, H: h };
  }

  // ------------------------------------------------------------------ header: heading and the site legend
  document.getElementById("heading").textContent = P.heading || "";
  const legend = document.getElementById("legend");
  if (P.sites.length) {
    legend.appendChild(document.createTextNode("IMU |acc| (m/s\u00b2):"));
    for (const s of P.sites) {
      const sw = el("span", "swatch"); sw.style.background = s.color; legend.appendChild(sw);
      legend.appendChild(document.createTextNode(s.name));
    }
    legend.appendChild(document.createTextNode("  \u00b7  pose: the 2-s window, looping"));
  }

  // ------------------------------------------------------------------ the cards
  const grid = document.getElementById("grid");
  const cards = [];
  // Similarities of a good match can all round to 1.000: show as many decimals as it takes to tell them apart,
  // and scale the bars between the worst and the best similarity of this list.
  const scores = P.cards.filter((c) => c.score !== null).map((c) => c.score);
  const hiS = scores.length ? Math.max(...scores) : 1, loS = scores.length ? Math.min(...scores) : 0;
  const spread = hiS - loS;
  const decimals = spread > 0 ? Math.min(6, Math.max(3, Math.ceil(-Math.log10(spread)) + 1)) : 3;
  for (const c of P.cards) {
    const card = el("div", "card" + (c.rank === null ? " query" : ""));
    card.dataset.clip = c.clip_id;
    card.dataset.rank = c.rank === null ? "query" : String(c.rank);
    const pose = el("canvas", "pose");
    card.appendChild(pose);
    const top = el("div", "top");
    top.appendChild(el("span", "rank", c.rank === null ? "Example" : "#" + c.rank));
    if (c.score !== null) {
      const sc = el("span", "score", c.score.toFixed(decimals));
      sc.title = "cosine similarity to the query";
      top.appendChild(sc);
      const bar = el("span", "bar"), fill = el("i");
      fill.style.width = (spread > 0 ? 15 + 85 * (c.score - loS) / spread : 100) + "%";
      bar.appendChild(fill); top.appendChild(bar);
      bar.title = "similarity between the lowest and the highest of this list";
    }
    const chapter = el("span", "chapter", c.chapter || "(no chapter)");
    chapter.title = c.chapter || "";
    top.appendChild(chapter);
    card.appendChild(top);
    let imu = null;
    if (c.imu) {
      imu = el("canvas", "imu");
      card.appendChild(imu);
    } else {
      card.appendChild(el("div", "empty", "no IMU for this window"));
    }
    const meta = el("div", "meta");
    const t1 = c.t0 + (c.pose ? c.pose.n_frames : c.imu ? c.imu.n_frames : 100) / P.fps;
    const where = [c.clip_id, c.t0.toFixed(1) + "\u2013" + t1.toFixed(1) + " s", c.label, c.split].filter((x) => x);
    meta.appendChild(el("span", "where", where.join(" \u00b7 ")));
    if (c.note) meta.appendChild(el("span", "note", c.note));
    if (c.url) {
      const a = el("a", "", "Open in Browse \u2197");
      a.href = c.url; a.target = "_blank"; a.rel = "noopener noreferrer";
      a.title = "Open " + c.clip_id + " at " + c.t0.toFixed(1) + " s in Browse (new tab)";
      meta.appendChild(a);
    }
    card.appendChild(meta);
    grid.appendChild(card);
    cards.push({
      c, card, poseCanvas: pose, imuCanvas: imu,
      pose: c.pose ? { data: b64f32(c.pose.b64), T: c.pose.n_frames, floor: c.pose.floor, height: c.pose.height,
                       radius: c.pose.radius } : null,
      imu: c.imu ? { data: b64f32(c.imu.b64), T: c.imu.n_frames, S: c.imu.sites } : null,
    });
  }
  if (!cards.length) grid.appendChild(el("div", "empty", "No results."));

  // ------------------------------------------------------------------ drawing
  function drawPose(k, frame) {
    const { ctx, W, H } = fit(k.poseCanvas);
    ctx.clearRect(0, 0, W, H);
    if (!k.pose) {
      ctx.fillStyle = "#9ca3af"; ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
      ctx.fillText("no pose", W / 2, H / 2);
      return;
    }
    const p = k.pose, J = 17, f = frame % p.T, d = p.data, off = f * J * 3;
    const R = Math.max(p.radius, p.height / 2, 0.5), D = 3.2 * R;
    const focal = 0.44 * Math.min(W, H) * D / R;
    const cy0 = p.floor + p.height / 2;
    const cyw = Math.cos(VIEW.yaw), syw = Math.sin(VIEW.yaw), cp = Math.cos(VIEW.pitch), sp = Math.sin(VIEW.pitch);
    function proj(x, y, z) {
      y -= cy0;
      const x1 = cyw * x + syw * z, z1 = -syw * x + cyw * z;
      const y2 = cp * y - sp * z1, z2 = sp * y + cp * z1;
      const depth = Math.max(0.05, D - z2);
      return [W / 2 + focal * x1 / depth, H / 2 - focal * y2 / depth, depth];
    }
    // floor cross under the window's centre
    ctx.strokeStyle = "#e5e7eb"; ctx.lineWidth = 1;
    for (const [a, b] of [[[-R, 0], [R, 0]], [[0, -R], [0, R]]]) {
      const u = proj(a[0], p.floor, a[1]), v = proj(b[0], p.floor, b[1]);
      ctx.beginPath(); ctx.moveTo(u[0], u[1]); ctx.lineTo(v[0], v[1]); ctx.stroke();
    }
    const pts = [];
    for (let j = 0; j < J; j++) {
      const x = d[off + 3 * j], y = d[off + 3 * j + 1], z = d[off + 3 * j + 2];
      pts.push(isFinite(x) && isFinite(y) && isFinite(z) ? proj(x, y, z) : null);
    }
    ctx.lineCap = "round";
    for (const [a, b, side] of P.bones) {
      if (!pts[a] || !pts[b]) continue;
      ctx.strokeStyle = SIDE_COLOR[side];
      ctx.lineWidth = Math.max(1.5, focal * 0.03 / pts[b][2]);
      ctx.beginPath(); ctx.moveTo(pts[a][0], pts[a][1]); ctx.lineTo(pts[b][0], pts[b][1]); ctx.stroke();
    }
    if (pts[10]) {  // the head
      ctx.fillStyle = "#111827";
      ctx.beginPath(); ctx.arc(pts[10][0], pts[10][1], 3, 0, 2 * Math.PI); ctx.fill();
    }
  }

  function drawImu(k, frame) {
    if (!k.imuCanvas) return;
    const { ctx, W, H } = fit(k.imuCanvas);
    ctx.clearRect(0, 0, W, H);
    const m = k.imu, T = m.T, S = m.S, d = m.data;
    let hi = 0;
    for (let i = 0; i < d.length; i++) if (isFinite(d[i]) && d[i] > hi) hi = d[i];
    hi = Math.max(hi * 1.08, 1e-3);
    const L = 34, Rm = 4, Tp = 4, B = 4, pw = W - L - Rm, ph = H - Tp - B;
    const x = (t) => L + (t / Math.max(1, T - 1)) * pw, y = (v) => Tp + ph - (v / hi) * ph;
    ctx.fillStyle = "#ffffff"; ctx.fillRect(L, Tp, pw, ph);
    ctx.strokeStyle = "#eef0f4"; ctx.lineWidth = 1;
    ctx.font = "10px system-ui, sans-serif"; ctx.fillStyle = "#6b7280";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const v of [0, hi / 1.08 / 2, hi / 1.08]) {
      ctx.beginPath(); ctx.moveTo(L, y(v)); ctx.lineTo(L + pw, y(v)); ctx.stroke();
      ctx.fillText(v < 10 ? v.toFixed(1) : v.toFixed(0), L - 4, y(v));
    }
    for (let s = 0; s < S; s++) {
      ctx.strokeStyle = (P.sites[s] || { color: "#555" }).color; ctx.lineWidth = 1.2;
      ctx.beginPath();
      let pen = false;
      for (let t = 0; t < T; t++) {
        const v = d[t * S + s];
        if (!isFinite(v)) { pen = false; continue; }
        if (pen) ctx.lineTo(x(t), y(v)); else { ctx.moveTo(x(t), y(v)); pen = true; }
      }
      ctx.stroke();
    }
    const cx = x(frame % T);
    ctx.strokeStyle = "rgba(224,17,95,0.85)"; ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(cx, Tp); ctx.lineTo(cx, Tp + ph); ctx.stroke();
    ctx.strokeStyle = "#d9dce3"; ctx.strokeRect(L + 0.5, Tp + 0.5, pw - 1, ph - 1);
  }

  // ------------------------------------------------------------------ one clock for every card
  const fps = P.fps || 50;
  const t0 = performance.now();
  let lastFrame = -1;
  function tick(now) {
    const frame = Math.floor(((now - t0) / 1000) * fps);
    if (frame !== lastFrame) {
      lastFrame = frame;
      for (const k of cards) { drawPose(k, frame); drawImu(k, frame); }
      root.dataset.frame = String(frame);
    }
    window.requestAnimationFrame(tick);
  }
  root.dataset.count = String(cards.filter((k) => k.c.rank !== null).length);
  window.requestAnimationFrame((now) => { tick(now); root.dataset.ready = "1"; });
})();
