// lstm-sweep serve: the live page. No library, no network but this server. Every stored string
// is inserted as text (textContent), never as markup. Updates change the parts that changed and
// keep what the user was looking at: scroll, open sections, the selected cell, filters, sort.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const state = { version: 0, rows: new Map(), tables: new Map(), order: [], summary: null,
                  error: null, selected: null, sort: { key: "started_at", dir: -1 }, limit: 200,
                  curves: new Map() };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  const fmt = (x, d) => (x === null || x === undefined) ? "" : Number(x).toFixed(d);
  function seconds(s) {
    if (s === null || s === undefined) return "";
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  }

  // ------------------------------------------------------------------ applying changes
  function apply(change) {
    if (change.full) { state.rows.clear(); state.tables.clear(); }
    for (const r of change.rows) state.rows.set(r.key, r);
    for (const k of change.removed) state.rows.delete(k);
    for (const t of change.tables) state.tables.set(t.id, t);
    for (const k of [...state.tables.keys()]) if (!change.order.includes(k)) state.tables.delete(k);
    state.order = change.order;
    if (change.summary) state.summary = change.summary;
    state.error = change.error;
    state.version = change.version;
    for (const k of change.rows.map((r) => r.key)) state.curves.delete(k);
    render(change);
  }

  function render(change) {
    renderStatus();
    renderProgress();
    const stored = change.full || change.tables.length || change.removed.length || change.rows.length;
    if (stored) {
      renderTables();
      renderLrChart();
      renderTimeChart();
      renderTrials();
      renderCurves();
    }
    if (change.summary) {
      renderFindings();
      if (!stored && state.selected && running().length) renderCurves();  // running curves grew
    }
    document.body.dataset.version = String(state.version);
  }

  function renderStatus() {
    const s = state.summary || { trials: 0, counts: {} };
    const n = s.trials || 0;
    const counts = Object.entries(s.counts || {}).map(([k, v]) => `${v} ${k}`).join(", ");
    $("status").textContent = `${n} trial${n === 1 ? "" : "s"} stored${counts ? " (" + counts + ")" : ""}` +
      (s.where && s.where.length ? ` · showing ${s.shown} where ${s.where.join(", ")}` : "") +
      ` · ${transport}`;
    const err = $("error");
    err.hidden = !state.error;
    err.textContent = state.error ? `The store cannot be read: ${state.error}. ` +
      "The page shows the last state it could read and updates when the store is back." : "";
  }

  // what is left: measured from the trials this sweep has finished (the time since it started
  // per trial finished, workers side by side included); before the first, the plan's estimate
  function eta(p) {
    const ran = p.ran, spent = Date.now() / 1000 - p.started_at;
    if (ran >= 1 && spent > 0) {
      const left = spent / ran * (p.planned - p.done);
      return ` · about ${seconds(left)} left (measured on ${ran} trial${ran === 1 ? "" : "s"}` +
        (p.eta_s !== null ? `; the plan said ${seconds(p.eta_s)} in all)` : ")");
    }
    return p.left_s !== null ? ` · plan's ETA: ${seconds(p.left_s)} left` : "";
  }

  function renderProgress() {
    const p = state.summary && state.summary.progress;
    const box = $("progress");
    box.replaceChildren();
    if (!p) { box.append(el("p", { class: "note", text: "No driver recorded a plan in this store yet." })); }
    else {
      const pct = p.planned ? Math.round(100 * p.done / p.planned) : 100;
      const bar = el("div", { class: "bar" }, el("div", { class: "fill" }));
      bar.firstChild.style.width = `${pct}%`;
      box.append(bar, el("p", { id: "progress-text", text:
        `${p.done} / ${p.planned} trial${p.planned === 1 ? "" : "s"} of ${p.label || "the latest sweep"} (started by ${p.host}) · ` +
        `${p.running} being trained now` + (p.done < p.planned ? eta(p) : "") }));
    }
    const claims = (state.summary && state.summary.claims) || [];
    const run = $("running");
    run.replaceChildren();
    if (!claims.length) { run.append(el("p", { class: "note", text: "none" })); return; }
    const t = el("table", { class: "list", id: "running-list" }, el("tr", {}, ...["trial", "host", "pid", "claimed", "step", "batch accuracy", "state"].map((h) => el("th", { text: h }))));
    for (const c of claims) {
      const last = c.curve && c.curve.length ? c.curve[c.curve.length - 1] : null;
      const tr = el("tr", { "data-key": c.key }, el("td", { text: c.trial || c.key.slice(0, 12) }), el("td", { text: c.host }),
        el("td", { text: c.pid === null ? "" : String(c.pid) }),
        el("td", { text: c.claimed_at ? new Date(c.claimed_at * 1000).toLocaleTimeString() : "" }),
        el("td", { text: c.step === undefined ? "" : `${c.step} / ${c.steps}` }),
        el("td", { text: last && last[2] !== null ? fmt(last[2], 4) : "" }),
        el("td", { text: c.live ? "training" : "stale (its driver stopped)" }));
      if (c._f !== undefined) {
        tr.classList.add("clickable");
        tr.title = "click: its curve with its cell's trials";
        tr.addEventListener("click", () => select(c._f, c._r, c._c));
      }
      t.append(tr);
    }
    run.append(t);
  }

  // ------------------------------------------------------------------ tables as heatmaps
  function heat(v, lo, hi, higher) {  // the bright end is the better one (a loss: the lowest)
    const t = hi > lo ? (higher === false ? (hi - v) : (v - lo)) / (hi - lo) : 1;
    // viridis-like: dark blue -> green -> yellow
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
    const c = stops[i].map((a, j) => Math.round(a + f * (stops[i + 1][j] - a)));
    return [`rgb(${c.join(",")})`, t > 0.55 ? "#111" : "#fff"];
  }

  function trialsOf(tableId, rowLabel, colLabel) {
    const out = [];
    for (const r of state.rows.values()) if (r._f === tableId && r._r === rowLabel && r._c === colLabel) out.push(r);
    out.sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0));
    return out;
  }

  function renderTables() {
    const box = $("tables");
    const open = new Set([...box.querySelectorAll("details[open]")].map((d) => d.dataset.table));
    const first = box.children.length === 0;
    box.replaceChildren();
    state.order.forEach((id, n) => {
      const t = state.tables.get(id);
      if (!t) return;
      const values = t.cells.flat().map((c) => c.value).filter((v) => v !== null);
      const lo = Math.min(...values), hi = Math.max(...values);
      const higher = t.metric ? t.metric.higher : true;
      const table = el("table", { class: "heat", "data-table": id, "data-metric": t.metric ? t.metric.name : null });
      table.append(el("caption", { text: t.caption }));
      table.append(el("tr", {}, el("th", { text: `${t.row_axis} \\ ${t.col_axis}` }),
        ...t.cols.map((c) => el("th", { text: c }))));
      t.rows.forEach((r, i) => {
        const tr = el("tr", {}, el("th", { text: r }));
        t.cols.forEach((c, j) => {
          const cell = t.cells[i][j];
          const td = el("td", { text: cell.text, "data-row": r, "data-col": c, tabindex: cell.n ? "0" : null });
          if (cell.value !== null) {
            const [bg, fg] = heat(cell.value, lo, hi, higher);
            td.style.backgroundColor = bg; td.style.color = fg;
          }
          if (t.best && t.best[0] === i && t.best[1] === j) td.classList.add("best");
          if (cell.n) {
            td.classList.add("link");
            td.title = `${cell.n} trials: click for their curves` +
              (td.classList.contains("best") ? ` (the best mean ${t.metric ? t.metric.title : "accuracy"})` : "");
            td.addEventListener("click", () => select(id, r, c));
            td.addEventListener("keydown", (e) => { if (e.key === "Enter") select(id, r, c); });
          }
          const s = state.selected;
          if (s && s.table === id && s.row === r && s.col === c) td.classList.add("selected");
          tr.append(td);
        });
        table.append(tr);
      });
      const det = el("details", { "data-table": id }, el("summary", { text: t.name }), table);
      if (open.has(id) || (first && n < 4) || (!first && !box.dataset.seen?.includes(id) && n < 4)) det.open = true;
      box.append(det);
    });
    box.dataset.seen = state.order.join(",");
    if (!state.order.length) box.append(el("p", { class: "note", text: "No trials yet." }));
  }

  function select(table, row, col) {
    state.selected = { table, row, col };
    renderCellFilter();
    if (state.cellOnly) renderTrials();
    for (const td of document.querySelectorAll("td.selected")) td.classList.remove("selected");
    const t = document.querySelector(`table[data-table="${CSS.escape(table)}"]`);
    if (t) for (const td of t.querySelectorAll("td")) if (td.dataset.row === row && td.dataset.col === col) td.classList.add("selected");
    renderCurves();
  }

  // ------------------------------------------------------------------ charts (SVG)
  const W = 460, H = 280, M = { l: 48, r: 12, t: 10, b: 36 };
  // a step of 1, 2, 2.5 or 5 x 10^k that cuts span into about n intervals, and the decimals its
  // multiples need (so that no two ticks read the same: 0.94, 0.95, not 0.94, 0.94)
  function niceStep(span, n) {
    const raw = span / n, p = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 2.5, 5]) if (m * p >= raw * (1 - 1e-9)) return m * p;
    return 10 * p;
  }
  function linearTicks(lo, hi, n) {
    const step = niceStep(hi - lo, n), out = [];
    // a span too small for a float step (values one rounding apart), or none: no ticks to make
    if (!(step > 0) || !isFinite(step) || Math.abs(lo / step) > 2 ** 50 || Math.abs(hi / step) > 2 ** 50) return [];
    const first = Math.ceil(lo / step - 1e-9);
    for (let i = 0, k = first; i <= 3 * n + 2 && k * step <= hi + step * 1e-9; i++, k++) out.push(Number((k * step).toPrecision(12)));
    const quarter = Math.round(step / 10 ** Math.floor(Math.log10(step)) * 10) === 25;  // 2.5, 0.25: one more
    const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9) + (quarter ? 1 : 0));
    return out.map((v) => [v, v.toFixed(decimals)]);
  }
  function frame(xs, ys, logX, xLabel, yLabel, fraction) {
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
    const fx = logX ? Math.log10 : (v) => v;
    let x0 = Math.min(...xs.map(fx)), x1 = Math.max(...xs.map(fx));
    const tiny = (a, b) => !(b - a > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)));  // one value, or rounding apart
    const single = tiny(x0, x1);  // one value: centred, its own tick only
    if (single) { const d = logX ? 0.5 : (Math.abs(x0) * 0.1 || 0.5); x0 -= d; x1 += d; }
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    if (tiny(y0, y1)) { y0 -= 0.05; y1 += 0.05; }
    const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
    if (fraction && y0 < 1 && y1 > 0) { y0 = Math.max(0, y0); y1 = Math.min(1, y1); }  // an accuracy: within 0 and 1
    const X = (v) => M.l + (fx(v) - x0) / (x1 - x0) * (W - M.l - M.r);
    const Y = (v) => H - M.b - (v - y0) / (y1 - y0) * (H - M.t - M.b);
    s.append(svg("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: "plot" }));
    let ticks = [];
    const short = (v) => Math.abs(v) >= 1000 ? Math.round(v).toString() : Number(v.toPrecision(3)).toString();
    if (single) ticks = [[xs[0], short(xs[0])]];
    else if (logX) {  // powers of ten; within less than a decade or two, 1-2-5 steps; else even steps
      for (let e = Math.ceil(x0 - 1e-9); e <= Math.floor(x1 + 1e-9); e++) ticks.push([10 ** e, `1e${e}`]);
      if (ticks.length < 2) {
        ticks = [];
        for (let e = Math.floor(x0) - 1; e <= Math.ceil(x1); e++) for (const m of [1, 2, 5]) {
          const v = m * 10 ** e, l = Math.log10(v);
          if (l >= x0 - 1e-9 && l <= x1 + 1e-9) ticks.push([v, short(v)]);
        }
        if (ticks.length < 2) ticks = linearTicks(10 ** x0, 10 ** x1, 3);
      }
    } else ticks = linearTicks(x0, x1, 4);
    let previous = null;
    for (const [v, text] of ticks) {
      if (text === previous) continue;  // never the same label twice
      previous = text;
      const x = X(v);
      s.append(svg("line", { x1: x, x2: x, y1: H - M.b, y2: H - M.b + 4, class: "tick" }));
      const t = svg("text", { x, y: H - M.b + 16, class: "label x-tick", "text-anchor": "middle" });
      t.textContent = text;
      s.append(t);
    }
    previous = null;
    for (const [v, text] of linearTicks(y0, y1, 4)) {
      if (text === previous) continue;
      previous = text;
      const y = Y(v);
      s.append(svg("line", { x1: M.l - 4, x2: M.l, y1: y, y2: y, class: "tick" }));
      const t = svg("text", { x: M.l - 6, y: y + 4, class: "label y-tick", "text-anchor": "end" });
      t.textContent = text; s.append(t);
    }
    const xl = svg("text", { x: (W + M.l) / 2, y: H - 4, class: "label", "text-anchor": "middle" });
    xl.textContent = xLabel + (logX && !single ? " (log scale)" : ""); s.append(xl);
    const yl = svg("text", { x: 12, y: (H - M.b) / 2, class: "label", "text-anchor": "middle", transform: `rotate(-90 12 ${(H - M.b) / 2})` });
    yl.textContent = yLabel; s.append(yl);
    return { s, X, Y };
  }
  function legend(entries) {  // below a chart, never over its points: [label, colour] pairs
    return el("p", { class: "legend" }, ...entries.map(([text, colour]) => {
      const key = el("span", { class: "key" }); key.style.background = colour;
      return el("span", { class: "entry" }, key, el("span", { text }));
    }));
  }
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function empty(box, text) { box.replaceChildren(el("p", { class: "note", text })); }

  function renderLrChart() {
    const box = $("chart-lr");
    const t = state.tables.get(state.order[0]);
    if (!t || !t.col_values.every((v) => v !== null)) return empty(box, "Shown when the columns are numbers (the learning rate).");
    const pts = [];
    t.rows.forEach((r, i) => t.cols.forEach((c, j) => { const v = t.cells[i][j].value; if (v !== null) pts.push([t.col_values[j], v, i, r, c]); }));
    if (!pts.length) return empty(box, "No accuracy yet.");
    const { s, X, Y } = frame(pts.map((p) => p[0]), pts.map((p) => p[1]), t.log_cols, t.col_axis, t.metric ? `mean ${t.metric.title}` : "mean test accuracy", !t.metric || t.metric.name === "accuracy");
    const labels = [];
    t.rows.forEach((r, i) => {
      const line = pts.filter((p) => p[2] === i).sort((a, b) => a[0] - b[0]);
      if (!line.length) return;
      const colour = PALETTE[i % PALETTE.length];
      s.append(svg("polyline", { points: line.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none", stroke: colour, "stroke-width": 1.5 }));
      for (const p of line) {
        const c = svg("circle", { cx: X(p[0]), cy: Y(p[1]), r: 3, fill: colour, class: "mark", "data-row": p[3], "data-col": p[4] });
        const tip = svg("title", {}); tip.textContent = `${t.row_axis} ${p[3]}, ${t.col_axis} ${p[4]}: ${p[1].toFixed(4)}`;
        c.append(tip); s.append(c);
      }
      labels.push({ x: X(line[line.length - 1][0]) - 4, y: Y(line[line.length - 1][1]) - 5, text: r, colour });
    });
    // labels that would overlap (lines ending at one value) are moved apart, in order
    labels.sort((a, b) => a.x - b.x || a.y - b.y);
    for (let i = 1; i < labels.length; i++) {
      const a = labels[i - 1], b = labels[i];
      if (Math.abs(a.x - b.x) < 30 && b.y - a.y < 11) b.y = a.y + 11;
    }
    for (const l of labels) {
      const lab = svg("text", { x: l.x, y: l.y, class: "label", fill: l.colour, "text-anchor": "end" });
      lab.textContent = l.text; s.append(lab);
    }
    box.replaceChildren(s);
  }

  function renderTimeChart() {
    const box = $("chart-time");
    const pts = [...state.rows.values()].filter((r) => r.test_accuracy !== null && r.wall_s > 0);
    if (!pts.length) return empty(box, "No finished trial yet.");
    const first = state.tables.get(state.order[0]);
    const what = first && first.metric ? first.metric.title : "test accuracy";
    const { s, X, Y } = frame(pts.map((r) => r.wall_s), pts.map((r) => r.test_accuracy), true, "wall time per trial (s)", what, !(first && first.metric) || first.metric.name === "accuracy");
    const rowsSeen = [...new Set(pts.map((r) => r._r))];
    for (const r of pts) {
      const colour = PALETTE[rowsSeen.indexOf(r._r) % PALETTE.length];
      const c = svg("circle", { cx: X(r.wall_s), cy: Y(r.test_accuracy), r: 3, fill: colour, class: "mark", "data-key": r.key });
      const tip = svg("title", {}); tip.textContent = `${r._r} · ${r._c} · seed ${r.seed}: ${r.test_accuracy.toFixed(4)} in ${r.wall_s.toFixed(1)} s`;
      c.append(tip); s.append(c);
    }
    const axis = first ? first.row_axis : "row";
    box.replaceChildren(s, legend(rowsSeen.map((r, i) => [`${axis} ${r}`, PALETTE[i % PALETTE.length]])));
  }

  function running(sel) {  // trials being trained that published a curve (of the selected cell)
    const claims = (state.summary && state.summary.claims) || [];
    return claims.filter((c) => c.live && c.curve && c.curve.length && !state.rows.has(c.key) &&
      (!sel || (c._f === sel.table && c._r === sel.row && c._c === sel.col)));
  }

  async function renderCurves() {
    const box = $("chart-curves");
    const sel = state.selected;
    if (!sel) return empty(box, "Click a cell of a table, or a trial being trained.");
    const trials = trialsOf(sel.table, sel.row, sel.col);
    const live = running(sel);
    $("curves-caption").textContent = `Learning curves (accuracy on the batch just trained on; the validation split where measured) of ${sel.row} · ${sel.col}: ${trials.length} trial${trials.length === 1 ? "" : "s"} stored, seeds as shades` +
      (live.length ? `; ${live.length} being trained (dashed)` : "");
    const missing = trials.map((r) => r.key).filter((k) => !state.curves.has(k)).slice(0, 64);
    if (missing.length) {
      try {
        const got = await (await fetch(`/api/curves?keys=${missing.join(",")}`)).json();
        if (got.error) return empty(box, `Curves unavailable: ${got.error}`);
        for (const k of missing) state.curves.set(k, got[k] || []);
      } catch (e) { return empty(box, "Curves unavailable (the server did not answer)."); }
    }
    const series = trials.map((r) => [r, (state.curves.get(r.key) || []).filter((p) => p[2] !== null)]).filter(([, c]) => c.length);
    const growing = live.map((c) => [c, c.curve.filter((p) => p[2] !== null)]).filter(([, c]) => c.length);
    if (!series.length && !growing.length) return empty(box, "These trials have no curve yet.");
    // the validation metric where it was measured (every --val-every steps), and at the end
    const valOf = (c, r) => {
      const v = (c || []).filter((p) => p[3] !== null && p[3] !== undefined).map((p) => [p[0], p[3]]);
      if (r && r.val_accuracy !== null && r.val_accuracy !== undefined && v.length && v[v.length - 1][0] < r.steps_done) v.push([r.steps_done, r.val_accuracy]);
      return v;
    };
    const vals = series.map(([r]) => [r, valOf(state.curves.get(r.key), r)]).concat(growing.map(([c]) => [c, valOf(c.curve, null)])).filter(([, v]) => v.length);
    const all = series.concat(growing).flatMap(([, c]) => c).map((p) => [p[0], p[2]]).concat(vals.flatMap(([, v]) => v));
    const table = state.tables.get(sel.table);
    const accuracy = !(table && table.metric) || table.metric.name === "accuracy";
    const metricName = accuracy ? "accuracy" : table.metric.title;
    const { s, X, Y } = frame(all.map((p) => p[0]), all.map((p) => p[1]), false, "step", vals.length ? metricName : `batch ${metricName}`, accuracy);
    series.forEach(([r, c], i) => {
      const shade = 30 + Math.round(40 * i / Math.max(1, series.length - 1));
      const line = svg("polyline", { points: c.map((p) => `${X(p[0])},${Y(p[2])}`).join(" "), fill: "none", stroke: `hsl(210, 70%, ${shade}%)`, "stroke-width": 1.5, class: "mark", "data-key": r.key });
      const tip = svg("title", {}); tip.textContent = `seed ${r.seed} (${r.status})`;
      line.append(tip); s.append(line);
    });
    for (const [c, pts] of growing) {
      const line = svg("polyline", { points: pts.map((p) => `${X(p[0])},${Y(p[2])}`).join(" "), fill: "none", stroke: "#d62728", "stroke-width": 1.5, "stroke-dasharray": "4 3", class: "mark live", "data-key": c.key });
      const tip = svg("title", {}); tip.textContent = `seed ${c.seed} (training: step ${c.step} of ${c.steps})`;
      line.append(tip); s.append(line);
    }
    for (const [r, v] of vals) {
      const g = svg("g", { class: "mark val", "data-key": r.key });
      g.append(svg("polyline", { points: v.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), fill: "none", stroke: "#e6550d", "stroke-width": 1.5 }));
      for (const [x, y] of v) g.append(svg("circle", { cx: X(x), cy: Y(y), r: 2.5, fill: "#e6550d" }));
      const tip = svg("title", {}); tip.textContent = `seed ${r.seed}: validation ${metricName}, last ${fmt(v[v.length - 1][1], 4)} at step ${v[v.length - 1][0]}`;
      g.append(tip); s.append(g);
    }
    if (vals.length) box.replaceChildren(s, legend([["batch", "hsl(210, 70%, 45%)"], ["validation", "#e6550d"]]));
    else box.replaceChildren(s);
  }

  // ------------------------------------------------------------------ findings, trials
  function renderFindings() {
    const box = $("findings");
    const items = (state.summary && state.summary.findings) || [];
    const ul = el("ul");
    let inner = null;
    for (const f of items) {
      if (f.kind === "facet") { const li = el("li", {}, el("strong", { text: f.text })); inner = el("ul"); li.append(inner); ul.append(li); }
      else (inner || ul).append(el("li", { text: f.text }));
    }
    box.replaceChildren(items.length ? ul : el("p", { class: "note", text: "No findings yet." }));
  }

  const COLUMNS = [["status", "status"], ["hidden", "hidden"], ["lr", "lr"], ["seed", "seed"], ["cell", "cell"],
    ["optimizer", "optimizer"], ["dataset", "dataset"], ["steps", "steps"], ["steps_done", "steps done"],
    ["test_accuracy", "test acc"], ["val_accuracy", "val acc"], ["train_loss", "loss"], ["wall_s", "wall s"],
    ["started_at", "started"], ["key", "key"]];
  function shown(r, col) {
    const v = r[col];
    if (v === null || v === undefined) return "";
    if (col === "test_accuracy" || col === "val_accuracy") return fmt(v, 4);
    if (col === "train_loss") return fmt(v, 3);
    if (col === "wall_s") return fmt(v, 1);
    if (col === "started_at") return v ? new Date(v * 1000).toLocaleString() : "";
    if (col === "key") return v.slice(0, 10);
    return String(v);
  }

  function renderCellFilter() {  // the trial list: every trial, or the selected cell's
    const b = $("cell-filter"), sel = state.selected;
    b.hidden = !sel;
    if (!sel) return;
    b.textContent = state.cellOnly ? `only cell ${sel.row} · ${sel.col} ✕` : `only the selected cell (${sel.row} · ${sel.col})`;
    b.classList.toggle("on", !!state.cellOnly);
  }

  function renderTrials() {
    const statusSel = $("status-filter");
    const statuses = [...new Set([...state.rows.values()].map((r) => r.status))].sort();
    const have = new Set([...statusSel.options].map((o) => o.value));
    for (const s of statuses) if (!have.has(s)) statusSel.append(el("option", { value: s, text: s }));
    const q = $("filter").value.trim().toLowerCase();
    const st = statusSel.value;
    const cell = state.cellOnly && state.selected;
    let rows = [...state.rows.values()].filter((r) => (!st || r.status === st) &&
      (!cell || (r._f === cell.table && r._r === cell.row && r._c === cell.col)) &&
      (!q || COLUMNS.some(([c]) => shown(r, c).toLowerCase().includes(q))));
    const { key, dir } = state.sort;
    rows.sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0; if (x === null || x === undefined) return 1; if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    $("trial-count").textContent = `${rows.length} of ${state.rows.size} trials`;
    const total = rows.length;
    rows = rows.slice(0, state.limit);
    const head = el("tr", {}, ...COLUMNS.map(([c, label]) => {
      const th = el("th", { text: label + (key === c ? (dir > 0 ? " ▲" : " ▼") : ""), class: "sortable", "data-sort": c });
      th.addEventListener("click", () => { state.sort = { key: c, dir: key === c ? -dir : (c === "started_at" ? -1 : 1) }; renderTrials(); });
      return th;
    }));
    const t = el("table", { class: "list", id: "trial-table" }, head);
    for (const r of rows) {
      const tr = el("tr", { "data-key": r.key, class: `status-${r.status}` }, ...COLUMNS.map(([c]) => el("td", { text: shown(r, c) })));
      if (r.error) tr.title = r.error;
      t.append(tr);
    }
    const box = $("trials");
    box.replaceChildren(t);
    if (total > rows.length) {
      const more = el("button", { type: "button", text: `show ${Math.min(200, total - rows.length)} more` });
      more.addEventListener("click", () => { state.limit += 200; renderTrials(); });
      box.append(more);
    }
  }

  // ------------------------------------------------------------------ transport: SSE, else polling
  let transport = "connecting";
  let failures = 0, polling = false, gone = 0;
  function connect() {
    if (!window.EventSource) return poll();
    const es = new EventSource(`/events?since=${state.version}`);
    es.addEventListener("open", () => { transport = "live (pushed)"; failures = 0; renderStatus(); });
    es.addEventListener("change", (e) => { apply(JSON.parse(e.data)); });
    es.addEventListener("error", () => {
      failures += 1;
      if (failures >= 3) { es.close(); poll(); }
      else { transport = "reconnecting"; renderStatus(); }
    });
  }
  async function poll() {
    if (polling) return; polling = true;
    transport = "live (polling every 2 s)"; renderStatus();
    for (;;) {
      try {
        const r = await fetch(`/api/changes?since=${state.version}`);
        if (r.ok) { const c = await r.json(); if (c.version !== state.version || c.full) apply(c); }
        transport = "live (polling every 2 s)";
        gone = 0;
      } catch (e) {
        gone += 1;
        transport = gone >= 2 ? "the server has stopped (its sweep ended, or serve was stopped): " +
          "this page shows the last state it read" : "the server does not answer; retrying";
      }
      renderStatus();
      await new Promise((res) => setTimeout(res, gone >= 2 ? 5000 : 2000));
    }
  }

  $("filter").addEventListener("input", () => { state.limit = 200; renderTrials(); });
  $("status-filter").addEventListener("change", () => { state.limit = 200; renderTrials(); });
  $("cell-filter").addEventListener("click", () => {
    state.cellOnly = !state.cellOnly; state.limit = 200; renderCellFilter(); renderTrials();
  });
  apply(JSON.parse($("initial-state").textContent));
  connect();
})();
