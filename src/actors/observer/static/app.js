// The observer page: one script, no libraries, served by the observer itself.
//
// Every view has a URL (/system, /processes?filter=..., /processes/42, /tree?root=...,
// /tracing, /names, /registries/42, /nodes, /nodes/py@host/processes/42 for another
// actors node's processes); links change it with history.pushState, so
// the back button works and any view can be bookmarked or shared (the token stays in
// an HttpOnly cookie, not in the URL).  Nothing the server sends is parsed as HTML:
// every element is built with textContent (h() and svg() below).
"use strict";
(() => {

// -- the token, the address -------------------------------------------------------
// Opened with ?token=..., the page keeps the token for its requests (the server also
// set it as a cookie) and drops it from the address bar (out of history and screenshots).
const first = new URLSearchParams(location.search);
const TOKEN = first.get("token") || "";
if (TOKEN) {
  first.delete("token");
  const rest = first.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
}
// Old-style fragments (#processes, #/processes/42) are addresses too.
if (/^#\/?[a-z]/.test(location.hash)) {
  history.replaceState(null, "", "/" + location.hash.replace(/^#\/?/, ""));
}

async function api(path, opts) {
  const headers = {};
  if (TOKEN) headers["Authorization"] = "Bearer " + TOKEN;
  const init = {headers, credentials: "same-origin"};
  if (opts && opts.method) init.method = opts.method;
  if (opts && opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, init);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error) || (path + ": HTTP " + r.status));
    err.status = r.status;
    throw err;
  }
  return data;
}

// -- building elements (text only) -------------------------------------------------
function h(tag, props, ...children) {
  const e = document.createElement(tag);
  setProps(e, props);
  append(e, children);
  return e;
}
const SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, String(v));
  }
  append(e, children);
  return e;
}
function setProps(e, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = String(v);
    else if (k === "class") e.className = v;
    else if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv === null ? "" : String(dv);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === "nav") { e.setAttribute("href", v); e.dataset.nav = ""; }
    else e.setAttribute(k, v === true ? "" : String(v));
  }
}
function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}
const $ = id => document.getElementById(id);
// Replace an element's children (arrays of children are flattened, as in h()).
function fill(e, ...children) { e.replaceChildren(); append(e, children); return e; }

// -- formatting --------------------------------------------------------------------
const NUM = new Intl.NumberFormat("en-US");
function num(n) { return n === null || n === undefined ? "-" : NUM.format(Math.round(n)); }
function rate(n) { if (n === null || n === undefined) return "-"; return n >= 100 ? num(n) : (Math.round(n * 10) / 10).toString(); }
function bytes(n) {
  if (n === null || n === undefined) return "-";
  const u = ["B", "KB", "MB", "GB", "TB"]; let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}
function duration(s) {
  if (s === null || s === undefined) return "-";
  s = Math.floor(s);
  const d = Math.floor(s / 86400), hh = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || hh ? hh + "h " : "") + (d || hh || m ? m + "m " : "") + (s % 60) + "s";
}
function clock(unix) { return unix ? new Date(unix * 1000).toLocaleTimeString() : "-"; }
function clockMs(unix) {
  if (!unix) return "-";
  const d = new Date(unix * 1000);
  return d.toLocaleTimeString([], {hour12: false}) + "." + String(d.getMilliseconds()).padStart(3, "0");
}
function ago(unix) {
  if (!unix) return "";
  const s = Math.max(0, Date.now() / 1000 - unix);
  return s < 60 ? Math.round(s) + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}
function pidNumber(pid) { const m = /^<0\.(\d+)\.0>$/.exec(pid || ""); return m ? m[1] : null; }
// A pid as a link to its page; ``at`` is the node's prefix ("" here, "/nodes/NAME" there).
function pidLink(pid, text, at) {
  if (pid === null || pid === undefined) return h("span", {class: "muted", text: "-"});
  const n = pidNumber(String(pid));
  if (n === null) return h("span", {class: "mono", text: String(pid)});
  return h("a", {nav: (at || "") + "/processes/" + n, class: "mono", data: {pid}, text: text || pid});
}
// Where another node's views live: its API and its pages.
function nodeBase(node) {
  return node ? {api: "/api/nodes/" + nodePart(node), at: "/nodes/" + nodePart(node)} : {api: "/api", at: ""};
}
// A node name in a path: "py@host" stays readable (an @ needs no escaping there).
function nodePart(node) { return encodeURIComponent(node).replace(/%40/g, "@"); }
function where(cf) {
  if (!cf) return "-";
  return cf.file ? cf.function + " (" + cf.file.split("/").pop() + ":" + cf.line + ")" : cf.function;
}
function statusBadge(status) {
  const cls = {running: "good", runnable: "warn", waiting: "plain", exiting: "bad", suspended: "warn"}[status] || "plain";
  return h("span", {class: "badge " + cls, text: status});
}

// -- charts (SVG, drawn from the sampler's history) ------------------------------------
// series: [{name, cls ("s1".."s5"), values: [numbers]}], times: [seconds]
function lineChart(times, series, opts) {
  opts = opts || {};
  const W = opts.width || 560, H = opts.height || 150, L = 52, R = 8, T = 8, B = 20;
  const box = svg("svg", {class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || "chart"});
  box.appendChild(svg("line", {class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B}));
  if (!times || times.length < 2) {
    box.appendChild(svg("text", {x: L + 6, y: T + 16, text: "collecting samples..."}));
    return box;
  }
  const fmt = opts.format || rate;
  let max = opts.max || 0;
  if (!opts.max) for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
  if (max <= 0) max = 1;
  const t0 = times[0], t1 = times[times.length - 1], span = Math.max(1e-9, t1 - t0);
  const x = t => L + (W - L - R) * (t - t0) / span, y = v => H - B - (H - B - T) * Math.min(v, max) / max;
  for (const frac of [0.5, 1]) {
    box.appendChild(svg("line", {class: "axis", x1: L, y1: y(max * frac), x2: W - R, y2: y(max * frac), "stroke-dasharray": "3 4"}));
    box.appendChild(svg("text", {x: L - 6, y: y(max * frac) + 4, "text-anchor": "end", text: fmt(max * frac)}));
  }
  box.appendChild(svg("text", {x: L - 6, y: H - B + 4, "text-anchor": "end", text: "0"}));
  box.appendChild(svg("text", {x: L, y: H - 4, text: "-" + duration(span)}));
  box.appendChild(svg("text", {x: W - R, y: H - 4, "text-anchor": "end", text: "now"}));
  for (const s of series) {
    const pts = [];
    s.values.forEach((v, i) => { if (v !== null && v !== undefined) pts.push(x(times[i]).toFixed(1) + "," + y(v).toFixed(1)); });
    if (pts.length < 2) continue;
    if (series.length === 1) {
      box.appendChild(svg("polygon", {class: "area " + s.cls, points: `${pts[0].split(",")[0]},${H - B} ${pts.join(" ")} ${pts[pts.length - 1].split(",")[0]},${H - B}`}));
    }
    box.appendChild(svg("polyline", {class: "line " + s.cls, points: pts.join(" ")}));
  }
  return box;
}
function chartPanel(title, times, series, opts) {
  opts = opts || {};
  const last = series.map(s => s.values.length ? s.values[s.values.length - 1] : null);
  const fmt = opts.format || rate;
  const head = h("div", {class: "chart-head"}, h("h3", {text: title}),
    h("span", {class: "now", text: series.length === 1 ? fmt(last[0]) + (opts.unit || "") : ""}));
  const legend = series.length > 1 ? h("div", {class: "legend"}, series.map((s, i) =>
    h("span", null, h("i", {class: s.cls}), s.name + " " + fmt(last[i]) + (opts.unit || "")))) : null;
  const panel = h("div", {class: "panel", data: {chart: opts.id || title}}, head, legend);
  panel.appendChild(lineChart(times, series, Object.assign({title}, opts)));
  return panel;
}
// The drawing width of a chart in a .grid of panels (so its text is drawn at 1:1).
function chartWidth() {
  const main = $("view"), style = getComputedStyle(main);
  const W = main.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const cols = Math.max(1, Math.floor((W + 16) / (420 + 16)));
  return Math.max(240, Math.floor((W - 16 * (cols - 1)) / cols) - 34);
}
// A sparkline of the last values: from 0 to the largest (or, ``range``, from the
// smallest to the largest); a flat series is drawn across the middle.
function sparkline(values, range) {
  const w = 56, hgt = 18;
  const e = svg("svg", {class: "spark", width: w, height: hgt, viewBox: `0 0 ${w} ${hgt}`, "aria-hidden": "true"});
  if (!values || values.length < 2) return e;
  const hi = Math.max(...values), lo = range ? Math.min(...values) : 0, n = values.length;
  const y = v => hi === lo ? (lo ? hgt / 2 : hgt - 1) : hgt - 1 - (hgt - 2) * (v - lo) / (hi - lo);
  const pts = values.map((v, i) => (i * (w - 2) / (n - 1) + 1).toFixed(1) + "," + y(v).toFixed(1));
  e.appendChild(svg("polyline", {points: pts.join(" ")}));
  return e;
}

// -- the router --------------------------------------------------------------------
const VIEWS = [
  [/^\/(?:system)?$/, "system", () => systemView()],
  [/^\/processes$/, "processes", () => processesView()],
  [/^\/processes\/(\d+)$/, "processes", m => processView(m[1])],
  [/^\/tree$/, "tree", () => treeView()],
  [/^\/tracing$/, "tracing", () => tracingView()],
  [/^\/names$/, "names", () => namesView()],
  [/^\/registries\/(\d+)$/, "names", m => registryView(m[1])],
  [/^\/nodes$/, "nodes", () => nodesView()],
  [/^\/nodes\/([^/]+)(?:\/processes)?$/, "nodes", m => processesView(decodeURIComponent(m[1]))],
  [/^\/nodes\/([^/]+)\/processes\/(\d+)$/, "nodes", m => processView(m[2], decodeURIComponent(m[1]))],
];
let current = null, generation = 0, timer = null;

function query() { return new URLSearchParams(location.search); }
function navigate(url, replace) {
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  render();
}
// Change the query of the current view (filter, sort...) without a new history entry.
function setQuery(changes) {
  const q = query();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") q.delete(k); else q.set(k, v);
  }
  const s = q.toString();
  history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
}

function render() {
  generation++;
  let view = null, tab = null;
  for (const [re, name, make] of VIEWS) {
    const m = re.exec(location.pathname);
    if (m) { view = make(m); tab = name; break; }
  }
  document.querySelectorAll("#nav a").forEach(a => a.classList.toggle("on", a.dataset.tab === tab));
  const main = $("view");
  fill(main);
  if (!view) {
    main.appendChild(h("div", {class: "panel error-box"}, "No such view: " + location.pathname + ". ",
      h("a", {nav: "/system", text: "Back to the system overview"})));
    current = null;
    return;
  }
  current = view;
  document.title = view.title + " - actors observer";
  view.mount(main);
  tick();
}

let busy = false;
async function tick() {
  const view = current, gen = generation;
  if (!view || busy) return;
  busy = true;
  try {
    await view.update();
    if (gen === generation) setStatus("updated " + new Date().toLocaleTimeString(), false);
  } catch (e) {
    if (gen === generation) setStatus("error: " + e.message, true);
  } finally {
    busy = false;
    if (gen !== generation) tick();        // the view changed while this one was loading
  }
}
function setStatus(text, bad) { const s = $("status"); s.textContent = text; s.classList.toggle("bad", bad); }
function schedule() {
  clearTimeout(timer);
  const ms = Number($("interval").value);
  if (ms > 0) timer = setTimeout(async () => { await tick(); schedule(); }, ms);
}

document.addEventListener("click", e => {
  const a = e.target.closest("a[data-nav]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", render);

// -- System ------------------------------------------------------------------------
function systemView() {
  let cards, info, memory, charts;
  return {
    title: "System",
    mount(main) {
      cards = h("div", {class: "cards", id: "cards"});
      info = h("div", {class: "panel", id: "versions"});
      memory = h("div", {class: "panel", id: "memory"});
      charts = h("div", {class: "grid", id: "charts"});
      main.append(h("h2", {text: "System"}), cards, h("div", {class: "grid"}, info, memory), h("div", {class: "stack-gap"}), charts);
    },
    async update() {
      const s = await api("/api/system");
      const card = (k, v, cls, id) => h("div", {class: "card" + (cls ? " " + cls : ""), data: {card: id || k}}, h("div", {class: "v", text: v}), h("div", {class: "k", text: k}));
      fill(cards,
        card("uptime", duration(s.uptime)),
        card("processes", num(s.process_count)),
        card("run queue", num(s.run_queue_length)),
        card("messages/s", num(s.messages_per_second)),
        card("reductions/s", num(s.steps_per_second)),
        card("scheduler utilisation", (s.scheduler_busy_percent ?? 0).toFixed(1) + "%", s.scheduler_busy_percent > 90 ? "warn" : ""),
        card("event-loop lag", s.loop_lag_ms === undefined ? "-" : s.loop_lag_ms.toFixed(1) + " ms", s.loop_lag_ms > 50 ? "warn" : ""),
        card("long steps", num(s.long_steps) + (s.long_steps ? " (max " + s.longest_step_ms + " ms)" : ""), s.long_steps ? "warn" : ""),
        card("crashes/s", s.crashes_per_second === undefined ? "-" : rate(s.crashes_per_second), s.crashes_per_second > 0 ? "bad" : ""),
        card("restarts/s", s.restarts_per_second === undefined ? "-" : rate(s.restarts_per_second), s.restarts_per_second > 0 ? "warn" : ""),
        card("memory (RSS)", bytes(s.memory_rss)),
        card("names", num(s.registered)));
      const v = s.versions || {};
      const rows = [["node", s.node || "nonode@nohost"], ["actors", v.actors], ["Python", v.python], ["event loop", v.loop],
                    ["OS", v.os], ["OS process", v.os_pid], ["started", s.started ? new Date(s.started * 1000).toLocaleString() : null],
                    ["crashes", num(s.crashes)], ["restarts", num(s.restarts)]];
      fill(info, h("h3", {text: "This system"}), h("dl", {class: "kv"},
        rows.filter(r => r[1] !== undefined && r[1] !== null).map(([k, val]) => [h("dt", {text: k}), h("dd", {text: val})])));
      const m = s.memory || {};
      const kinds = [["processes", m.processes, "s1"], ["mailboxes", m.mailboxes, "s2"], ["other", m.other, "s3"]].filter(k => k[1] > 0);
      const total = kinds.reduce((a, k) => a + k[1], 0) || 1;
      const bar = h("div", {class: "bar"}, kinds.map(([k, n, cls]) => { const sp = h("span", {class: cls, title: k + ": " + bytes(n)}); sp.style.width = (100 * n / total).toFixed(2) + "%"; return sp; }));
      fill(memory, h("h3", {text: "Memory by kind"}), h("div", {class: "muted", text: "resident " + bytes(s.memory_rss) + (m.measured_at ? " · processes measured " + ago(m.measured_at) : "")}), bar,
        h("div", {class: "legend"}, kinds.map(([k, n, cls]) => h("span", null, h("i", {class: cls}), k + " " + bytes(n)))),
        h("div", {class: "muted", text: num(m.messages) + " messages queued in all mailboxes"}),
        h("p", {class: "muted", text: "processes: their coroutines, dictionaries and control blocks; mailboxes: the queued messages (estimated); other: the rest of this OS process (Python objects, code, libraries)."}));
      const sr = s.series || {};
      const t = sr.t || [];
      const col = k => sr[k] || [];
      const width = chartWidth();
      fill(charts,
        chartPanel("Messages and reductions per second", t, [{name: "messages/s", cls: "s1", values: col("messages_per_second")}, {name: "reductions/s", cls: "s2", values: col("steps_per_second")}], {width, id: "throughput"}),
        chartPanel("Scheduler utilisation", t, [{name: "busy", cls: "s1", values: col("busy_percent")}], {width, max: 100, unit: "%", format: v => v === null ? "-" : v.toFixed(1), id: "utilisation"}),
        chartPanel("Run queue", t, [{name: "run queue", cls: "s3", values: col("run_queue")}], {width, id: "run_queue"}),
        chartPanel("Event-loop lag", t, [{name: "lag", cls: "s5", values: col("loop_lag_ms")}], {width, unit: " ms", format: v => v === null ? "-" : v.toFixed(1), id: "lag"}),
        chartPanel("Processes", t, [{name: "processes", cls: "s4", values: col("process_count")}], {width, format: num, id: "processes"}),
        chartPanel("Memory (RSS)", t, [{name: "RSS", cls: "s2", values: col("memory_rss")}], {width, format: bytes, id: "memory"}),
        chartPanel("Crashes and restarts per second", t, [{name: "crashes/s", cls: "s5", values: col("crashes_per_second")}, {name: "restarts/s", cls: "s3", values: col("restarts_per_second")}], {width, id: "crashes"}),
        chartPanel("Long steps per second", t, [{name: "long steps/s", cls: "s3", values: col("long_steps_per_second")}], {width, id: "long_steps"}));
    },
  };
}

// -- Processes ---------------------------------------------------------------------
const COLUMNS = [
  {key: "pid", title: "pid", sort: "pid"},
  {key: "registered_name", title: "name or initial call", sort: "registered_name"},
  {key: "current_function", title: "current function", cls: "hide-narrow"},
  {key: "message_queue_len", title: "msgq", sort: "message_queue_len", num: true, spark: "queue"},
  {key: "reductions", title: "reductions", sort: "reductions", num: true, spark: "reductions_per_second"},
  {key: "memory", title: "memory", sort: "memory", num: true, spark: "memory"},
  {key: "status", title: "status", sort: "status"},
];
// The process table of this node, or of another actors node (``node``: browsed
// through its actors_observer; no sparklines there).
function processesView(node) {
  let rows, count, heads, filter, summary;
  const q = () => query();
  const sortKey = () => q().get("sort") || "reductions";
  const {api: base, at} = nodeBase(node);
  return {
    title: node ? "Processes of " + node : "Processes",
    mount(main) {
      filter = h("input", {type: "search", id: "filter", placeholder: "filter by pid, name or initial call", value: q().get("filter") || ""});
      let debounce = null;
      filter.addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => { setQuery({filter: filter.value}); tick(); }, 250); });
      const limit = h("select", {id: "limit", "aria-label": "rows shown"}, [50, 100, 500, 1000].map(n => h("option", {value: n, text: n + " rows"})));
      limit.value = q().get("limit") || "100";
      limit.addEventListener("change", () => { setQuery({limit: limit.value}); tick(); });
      count = h("span", {class: "muted", id: "count"});
      heads = h("tr", {id: "heads"});
      for (const c of COLUMNS) {
        const th = h("th", {class: (c.sort ? "sortable " : "") + (c.num ? "num " : "") + (c.cls || ""), text: c.title, data: {col: c.key}});
        if (c.sort) th.addEventListener("click", () => {
          const same = sortKey() === c.sort;
          setQuery({sort: c.sort, reverse: same && q().get("reverse") !== "1" ? "1" : null});
          tick();
        });
        heads.appendChild(th);
      }
      rows = h("tbody", {id: "rows"});
      summary = node ? h("div", {class: "cards", id: "node-summary"}) : null;
      main.append(node ? h("div", {class: "muted"}, h("a", {nav: "/nodes", text: "\u2190 Nodes"})) : null,
        h("h2", {text: node ? "Processes of " : "Processes"}, node ? h("span", {class: "mono", id: "browsed-node", text: node}) : null),
        summary, h("div", {class: "toolbar"}, filter, limit, count),
        h("div", {class: "panel table-wrap"}, h("table", {id: "process-table"}, h("thead", null, heads), rows)));
    },
    async update() {
      const qs = q();
      const params = new URLSearchParams({sort: sortKey(), limit: qs.get("limit") || "100", reverse: qs.get("reverse") === "1" ? "1" : "0", filter: qs.get("filter") || ""});
      if (node) {
        const s = await api(base + "/system");
        const v = s.versions || {};
        const card = (k, val, id) => h("div", {class: "card", data: {card: id}}, h("div", {class: "v", text: val}), h("div", {class: "k", text: k}));
        fill(summary, card("processes", num(s.process_count), "processes"), card("run queue", num(s.run_queue_length), "run_queue"),
          card("messages/s", num(s.messages_per_second), "messages"), card("memory (RSS)", bytes(s.memory_rss), "memory"),
          card("uptime", duration(s.uptime), "uptime"), card("Python", v.python || "-", "python"));
      }
      const t = await api(base + "/processes?" + params);
      count.textContent = num(t.rows.length) + " shown of " + num(t.matched) + " matching, " + num(t.total) + " processes" +
        (t.as_of ? " (a large system: chosen from the census of " + clock(t.as_of) + ", values current)" : "");
      heads.querySelectorAll("th").forEach(th => {
        const c = COLUMNS.find(c => c.key === th.dataset.col);
        th.classList.toggle("sorted", !!c.sort && c.sort === sortKey());
        th.classList.toggle("asc", qs.get("reverse") === "1");
      });
      fill(rows, ...t.rows.map(r => {
        const n = pidNumber(r.pid);
        const tr = h("tr", {class: "row", data: {pid: r.pid, name: r.registered_name || ""}});
        tr.addEventListener("click", e => { if (!e.target.closest("a") && n !== null) navigate(at + "/processes/" + n); });
        for (const c of COLUMNS) {
          let v = r[c.key];
          const td = h("td", {class: (c.num ? "num " : "") + (c.cls || "") + (c.spark ? " cell-spark spark-" + c.key.split("_")[0] : "")});
          if (c.key === "pid") td.appendChild(pidLink(r.pid, null, at));
          else if (c.key === "status") td.appendChild(statusBadge(v));
          else if (c.key === "memory") td.append(bytes(v));
          else if (c.num) td.append(num(v));
          else if (c.key === "registered_name") td.appendChild(v ? h("div", {class: "ellipsis name", title: r.initial_call, text: v})
                                                               : h("div", {class: "ellipsis muted", title: r.initial_call, text: r.initial_call}));
          else td.appendChild(h("div", {class: "ellipsis", title: v || "", text: v === null ? "" : v}));
          if (c.spark && r.history && r.history[c.spark]) td.appendChild(sparkline(r.history[c.spark], c.key === "memory"));
          tr.appendChild(td);
        }
        return tr;
      }));
    },
  };
}

// -- one process -------------------------------------------------------------------
// One process, here or on another actors node (``node``: read only, no trace, no charts).
function processView(number, node) {
  const {api: base, at} = nodeBase(node);
  const path = base + "/processes/" + number;
  let head, title, body, traceBox, lastState = 0, stateData = null, stateError = null, trace = {seq: 0, events: [], active: false};
  let info = null;

  async function post(action, payload) {
    try { await api(path + "/" + action, {method: "POST", body: payload || {}}); }
    catch (e) { alert(action + ": " + e.message); }
    lastState = 0;
    await tick();
  }

  // The action buttons are built once (a reason being typed survives the refreshes);
  // each refresh only says which of them apply.
  let actionBox, suspendBtn, traceBtn;
  function buildActions() {
    actionBox = h("div", {class: "actions"});
    const reason = h("input", {type: "text", id: "kill-reason", list: "reasons", value: "kill", "aria-label": "exit reason", title: "exit reason"});
    const kill = h("button", {class: "danger", id: "kill", text: "Kill", title: "send an exit signal with this reason"});
    kill.addEventListener("click", () => {
      const why = reason.value.trim() || "kill";
      if (!info || !confirm("exit(" + info.pid + ", \"" + why + "\")?")) return;
      post("kill", {reason: why});
    });
    suspendBtn = h("button", {id: "suspend", text: "Suspend"});
    suspendBtn.addEventListener("click", () => post(suspendBtn.id));
    traceBtn = h("button", {id: "trace-start", class: "primary", text: "Trace"});
    traceBtn.addEventListener("click", async () => {
      if (trace.active) { await post("trace/stop"); trace.active = false; }
      else { trace = {seq: 0, events: [], active: true}; await post("trace"); }
    });
    actionBox.append(h("datalist", {id: "reasons"}, ["kill", "shutdown", "normal"].map(r => h("option", {value: r}))),
      reason, kill, suspendBtn, traceBtn);
  }
  function showActions(p) {
    const suspended = !!(stateData && stateData.status === "suspended");
    suspendBtn.hidden = traceBtn.hidden = !p.server;
    suspendBtn.id = suspended ? "resume" : "suspend";
    suspendBtn.textContent = suspended ? "Resume" : "Suspend";
    suspendBtn.title = suspended ? "sys.resume: handle the queued messages" : "sys.suspend: handle only system messages";
    traceBtn.id = trace.active ? "trace-stop" : "trace-start";
    traceBtn.textContent = trace.active ? "Stop trace" : "Trace";
    traceBtn.className = trace.active ? "" : "primary";
    traceBtn.title = "sys.trace: show every message in and out, live";
    return actionBox;
  }

  function section(title, id, ...content) { return h("div", {class: "panel", id}, h("h3", {text: title}), content); }
  function pidList(pids, id) {
    return h("div", {class: "pids", id}, pids.length ? pids.map(p => pidLink(p, null, at)) : h("span", {class: "muted", text: "none"}));
  }

  function renderTrace() {
    if (!traceBox) return;
    if (!trace.active && !trace.events.length) { fill(traceBox); traceBox.hidden = true; return; }
    traceBox.hidden = false;
    const rows = trace.events.slice().reverse().map(e => h("tr", {class: "trace-event", data: {dir: e.dir || "", kind: e.kind || ""}},
      h("td", {class: "muted", text: clockMs(e.time)}),
      h("td", {class: "dir-" + (e.dir || "in"), text: e.dir === "out" ? "\u2190 out" : "\u2192 in"}),
      h("td", {text: e.kind || ""}), h("td", null, e.peer ? pidLink(e.peer, null, at) : ""), h("td", null, h("pre", {text: e.message}))));
    fill(traceBox, h("div", {class: "chart-head"}, h("h3", {text: "Trace (sys.trace): messages in and out, newest first"}),
        h("span", {class: "muted", id: "trace-state", text: trace.active ? "tracing live · " + trace.seq + " events" : "stopped" + (trace.stopped ? ": " + trace.stopped : "")})),
      h("div", {class: "trace-list"}, h("table", {id: "trace-events"}, h("thead", null, h("tr", null, ["time", "", "kind", "peer", "message"].map(t => h("th", {text: t})))),
        h("tbody", null, rows.length ? rows : h("tr", null, h("td", {colspan: 5, class: "muted", text: "waiting for messages..."}))))));
  }

  return {
    title: "Process",
    mount(main) {
      buildActions();
      title = h("div", {class: "proc-title"});
      head = h("div", {class: "proc-head"}, title, actionBox);
      body = h("div", {class: "stack-gap"});
      traceBox = h("div", {class: "panel", id: "trace", hidden: true});
      main.append(h("div", {class: "muted"}, h("a", {nav: at + "/processes", text: "\u2190 Processes" + (node ? " of " + node : "")})), head, traceBox, body);
    },
    async update() {
      try { info = await api(path); }
      catch (e) {
        if (e.status !== 404) throw e;
        const pid = "<0." + number + ".0>";
        fill(title, h("h2", {text: pid}), h("span", {class: "badge bad", id: "gone", text: "not alive"}));
        actionBox.hidden = true;
        fill(body, h("div", {class: "panel error-box"}, pid + " is not alive (it exited, or never existed). ",
          h("a", {nav: at + "/processes", text: "Back to the processes"})));
        trace.active = false; renderTrace();
        return;
      }
      const p = info;
      if (node) {                       // the other node sent the state with the process
        stateData = p.state || null; stateError = p.state_error || null;
      } else {
        if (p.server && Date.now() - lastState > (stateError ? 10000 : 0)) {
          lastState = Date.now();
          try { stateData = await api(path + "/state"); stateError = null; }
          catch (e) { stateError = e.message; }
        }
        const tr = await api(path + "/trace?since=" + trace.seq);
        trace.active = tr.active; trace.stopped = tr.stopped;
        if (tr.events.length) { trace.events = trace.events.concat(tr.events).slice(-500); trace.seq = tr.next; }
        renderTrace();
      }

      const status = stateData && stateData.status === "suspended" ? "suspended" : p.status;
      actionBox.hidden = !!node;
      showActions(p);
      fill(title, h("h2", {class: "mono", id: "proc-pid", text: p.pid}),
        node ? h("span", {class: "badge plain", id: "on-node", text: "on " + node}) : null,
        p.registered_name ? h("span", {class: "badge", text: p.registered_name}) : null,
        p.server ? h("span", {class: "badge plain", text: p.server.kind.replace("_", " ")}) : null,
        statusBadge(status));
      const kv = [["initial call", p.initial_call], ["current function", where(p.current_function)],
        ["server", p.server ? p.server.class : null], ["message queue", num(p.message_queue_len)],
        ["reductions", num(p.reductions)], ["memory", bytes(p.memory)], ["trap exit", String(p.trap_exit)]];
      const overview = section("Overview", "overview", h("dl", {class: "kv"}, kv.filter(r => r[1] !== null).map(([k, v]) => [h("dt", {text: k}), h("dd", {class: "mono", data: {key: k}, text: v})])));
      const hist = p.history || {};
      const ht = hist.t || [];
      const charts = ht.length > 1 ? h("div", {class: "grid"},
        chartPanel("Reductions per second", ht, [{name: "reductions/s", cls: "s1", values: hist.reductions_per_second || []}], {height: 120, width: chartWidth(), id: "p-reductions"}),
        chartPanel("Message queue", ht, [{name: "queue", cls: "s3", values: hist.queue || []}], {height: 120, width: chartWidth(), id: "p-queue"}),
        chartPanel("Memory", ht, [{name: "memory", cls: "s2", values: hist.memory || []}], {height: 120, width: chartWidth(), format: bytes, id: "p-memory"})) : null;
      let state = null;
      if (p.server) {
        let content;
        if (stateError) content = h("div", {class: "error-box", text: stateError});
        else if (!stateData) content = h("div", {class: "muted", text: "asking..."});
        else if (typeof stateData.state === "object" && stateData.state !== null) {
          const entries = Object.entries(stateData.state);
          content = entries.length ? h("dl", {class: "kv", id: "state-kv"}, entries.map(([k, v]) => [h("dt", {class: "mono", text: k}), h("dd", null, h("pre", {text: v}))]))
                                   : h("div", {class: "muted", text: "no attributes"});
        } else content = h("pre", {id: "state-text", text: stateData.state});
        state = section("State", "state", h("div", {class: "muted", text: "sys.get_status (the class's format_status decides what shows) · " + (stateData ? stateData.class : "")}), content);
      }
      const userFrames = p.stack.filter(f => !f.library), libFrames = p.stack.filter(f => f.library);
      const frame = f => h("li", {class: f.library ? "lib" : ""}, h("code", {text: f.function}), " ", h("span", {class: "muted", text: f.file + ":" + f.line}));
      const stackBox = section("Stack (innermost first)", "stack",
        p.stack.length === 0 ? h("div", {class: "muted", text: "not suspended (running or exited)"}) : null,
        userFrames.length ? h("ol", {class: "frames"}, userFrames.map(frame)) : (p.stack.length ? h("div", {class: "muted", text: where(p.current_function)}) : null),
        libFrames.length ? h("details", null, h("summary", {text: libFrames.length + " frames of the library (actors, asyncio)"}), h("ol", {class: "frames"}, libFrames.map(frame))) : null);
      const mailbox = section("Mailbox (" + num(p.message_queue_len) + ")", "mailbox",
        h("div", {class: "mailbox"}, p.messages.length ? p.messages.map(m => h("pre", {text: m})) : h("span", {class: "muted", text: "empty"})),
        p.messages_more ? h("div", {class: "muted", text: "... and " + num(p.messages_more) + " more (only the first " + p.messages.length + " are read)"}) : null);
      const relations = section("Links and monitors", "relations",
        h("h3", {text: "links"}), pidList(p.links, "links"),
        h("h3", {text: "monitors"}), h("div", {class: "pids", id: "monitors"}, p.monitors.length ? p.monitors.map(m => typeof m.pid === "string" ? pidLink(m.pid, null, at) : h("span", {class: "mono", text: JSON.stringify(m.pid)})) : h("span", {class: "muted", text: "none"})),
        h("h3", {text: "monitored by"}), pidList(p.monitored_by, "monitored-by"));
      const dictEntries = Object.entries(p.dictionary);
      const dict = section("Process dictionary", "dictionary",
        dictEntries.length ? h("dl", {class: "kv"}, dictEntries.map(([k, v]) => [h("dt", {class: "mono", text: k}), h("dd", null, h("pre", {text: v}))])) : h("span", {class: "muted", text: "empty"}),
        p.dictionary_hidden ? h("div", {class: "muted", text: p.dictionary_hidden + " entries of the library not shown"}) : null);
      fill(body, h("div", {class: "grid"}, overview, state || stackBox), charts, state ? stackBox : null,
        h("div", {class: "grid"}, mailbox, relations), dict);
    },
  };
}

// -- Supervision trees (a graph) --------------------------------------------------------
const NODE_W = 200, NODE_H = 46, GAP_X = 56, GAP_Y = 12;
const seenRestarts = new Map();   // node key -> {restarts, pid}
const flashUntil = new Map();     // node key -> time (ms) until which it flashes

function treeView() {
  let roots, graph, details, lastJson = "";
  return {
    title: "Supervision",
    mount(main) {
      roots = h("div", {class: "panel roots", id: "roots"});
      graph = h("div", {class: "panel graph-wrap", id: "graph"});
      details = h("div", {class: "panel table-wrap", id: "restarts"});
      main.append(h("h2", {text: "Supervision trees"}), h("div", {class: "tree-layout"}, roots, h("div", null, graph, details)));
    },
    async update() {
      const trees = await api("/api/tree?root=" + encodeURIComponent(query().get("root") || ""));
      const json = JSON.stringify(trees);
      if (json === lastJson) return;
      lastJson = json;
      if (!trees.length) { fill(roots, h("div", {class: "muted", text: "no supervisors are running"})); fill(graph); fill(details); return; }
      const keyOf = r => r.name || pidNumber(r.pid) || r.pid;
      const chosen = trees.find(r => !r.collapsed) || trees[0];
      fill(roots, h("h3", {text: "Root supervisors"}), trees.map(r => h("a", {nav: "/tree?root=" + encodeURIComponent(keyOf(r)), class: r === chosen ? "on" : "",
        data: {root: r.pid}}, (r.name || r.pid), " ", h("span", {class: "muted", text: r.kind === "dynamic_supervisor" ? "dynamic" : r.strategy || ""}))));
      fill(graph, drawTree(chosen), moreNote(chosen));
      const rows = [];
      (function walk(n, path) {
        for (const c of n.children || []) {
          const key = path + "/" + (c.id ?? c.pid);
          if (c.restarts) rows.push([c, key]);
          walk(c, key);
        }
      })(chosen, chosen.pid);
      fill(details, h("h3", {text: "Restarts"}), rows.length ? h("table", null,
        h("thead", null, h("tr", null, ["child", "pid", "restarts", "last reason", "when"].map(t => h("th", {text: t})))),
        h("tbody", null, rows.map(([c]) => h("tr", {data: {id: c.id ?? ""}}, h("td", {text: c.id ?? (c.modules || []).join(", ")}), h("td", null, pidLink(c.pid)),
          h("td", {class: "num", text: c.restarts}), h("td", null, h("pre", {text: c.last_restart ? c.last_restart.reason : ""})),
          h("td", {text: c.last_restart ? clock(c.last_restart.time) + " (" + ago(c.last_restart.time) + ")" : ""})))))
        : h("div", {class: "muted", text: "no child of this tree has been restarted"}));
    },
  };
}

// Lay the tree out left to right (as Erlang's observer draws applications): leaves
// stacked top to bottom, each supervisor centred on its children.
function drawTree(root) {
  let leaves = 0, depth = 0;
  const placed = [];
  (function place(n, level, key) {
    depth = Math.max(depth, level);
    const kids = n.children || [];
    let y;
    const childYs = kids.map(c => place(c, level + 1, key + "/" + (c.id ?? c.pid)));
    if (!kids.length) { y = leaves * (NODE_H + GAP_Y); leaves++; }
    else y = (childYs[0] + childYs[childYs.length - 1]) / 2;
    placed.push({n, level, y, key, childYs});
    return y;
  })(root, 0, root.pid);
  const W = (depth + 1) * (NODE_W + GAP_X) + 20, H = Math.max(1, leaves) * (NODE_H + GAP_Y) + 20;
  const g = svg("svg", {class: "graph", id: "tree-graph", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "supervision tree"});
  const X = level => 10 + level * (NODE_W + GAP_X);
  const now = Date.now();
  for (const p of placed) for (const cy of p.childYs) {
    const x1 = X(p.level) + NODE_W, y1 = 10 + p.y + NODE_H / 2, x2 = X(p.level + 1), y2 = 10 + cy + NODE_H / 2, mx = (x1 + x2) / 2;
    g.appendChild(svg("path", {class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}));
  }
  for (const p of placed) {
    const n = p.n, isSup = n.children !== undefined && n.kind, running = typeof n.pid === "string" && n.pid.startsWith("<");
    const prev = seenRestarts.get(p.key);
    if (prev && ((n.restarts || 0) > prev.restarts || (running && prev.pid && prev.pid !== n.pid))) flashUntil.set(p.key, now + 2500);
    seenRestarts.set(p.key, {restarts: n.restarts || 0, pid: running ? n.pid : prev && prev.pid});
    const flashing = (flashUntil.get(p.key) || 0) > now;
    const title = n.id !== undefined ? (n.id ?? (n.modules || []).join(", ")) : (n.name || n.pid);
    const line1 = String(title) + (n.name && n.id !== undefined && n.name !== n.id ? " (" + n.name + ")" : "");
    const line2 = (running ? n.pid : (n.pid === "restarting" ? "restarting" : "not running")) +
      (isSup ? " \u00b7 " + (n.kind === "dynamic_supervisor" ? "dynamic" : n.strategy) : "") +
      (n.restart && n.restart !== "permanent" ? " \u00b7 " + n.restart : "");
    const group = svg("g", {class: "node" + (isSup ? " sup" : "") + (running ? "" : " down") + (flashing ? " flash" : ""),
      transform: `translate(${X(p.level)},${10 + p.y})`, "data-id": n.id ?? "", "data-pid": n.pid ?? "", "data-restarts": n.restarts || 0,
      "data-key": p.key, tabindex: running ? 0 : null});
    const tip = [line1, "pid: " + (n.pid ?? "not running"), isSup ? "supervisor: " + (n.kind === "dynamic_supervisor" ? "DynamicSupervisor" : "Supervisor") + ", " + n.strategy + (n.max_restarts !== undefined ? ", at most " + n.max_restarts + " restarts in " + n.max_seconds + " s" : "") : "worker",
      n.restart ? "restart: " + n.restart : null, n.restarts ? "restarted " + n.restarts + " times; last: " + (n.last_restart ? n.last_restart.reason + " at " + clock(n.last_restart.time) : "?") : null,
      n.error ? "error: " + n.error : null].filter(Boolean).join("\n");
    group.append(svg("title", {text: tip}), svg("rect", {width: NODE_W, height: NODE_H, rx: 8}),
      svg("text", {x: 10, y: 19, text: clip(line1, 26)}), svg("text", {class: "sub", x: 10, y: 36, text: clip(line2, 32)}));
    if (n.restarts) {
      const label = "\u21bb" + n.restarts, w = 10 + label.length * 6.5;
      group.appendChild(svg("g", {class: "restarts", transform: `translate(${NODE_W - w + 6},-7)`}, svg("rect", {width: w, height: 16, rx: 8}), svg("text", {x: w / 2, y: 12, "text-anchor": "middle", text: label})));
    }
    if (running) {
      const go = () => { const num = pidNumber(n.pid); if (num) navigate("/processes/" + num); };
      group.addEventListener("click", go);
      group.addEventListener("keydown", e => { if (e.key === "Enter") go(); });
    }
    g.appendChild(group);
  }
  return g;
}
// Supervisors list their first children only (the server caps them): say how many more.
function moreNote(root) {
  const notes = [];
  (function walk(n) {
    if (n.children_total > (n.children || []).length) notes.push((n.name || n.id || n.pid) + ": " + (n.children_total - n.children.length) + " more children not drawn");
    (n.children || []).forEach(walk);
  })(root);
  return notes.length ? h("div", {class: "muted", text: notes.join(" · ")}) : null;
}
function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }

// -- Tracing -------------------------------------------------------------------------
function tracingView() {
  let box;
  return {
    title: "Tracing",
    mount(main) {
      box = h("div", {class: "panel table-wrap", id: "traces"});
      main.append(h("h2", {text: "Tracing"}), h("p", {class: "muted", text: "Open a server's page (Processes, then a GenServer) and press Trace to watch its messages in and out. Traces stop by themselves when nobody watches them for a minute, above 500 messages a second, or when the process exits."}), box);
    },
    async update() {
      const list = await api("/api/traces");
      fill(box, list.length ? h("table", null, h("thead", null, h("tr", null, ["process", "started", "events", "state", ""].map(t => h("th", {text: t})))),
        h("tbody", null, list.map(s => {
          const stop = h("button", {text: "Stop", class: "stop-trace"});
          stop.addEventListener("click", async () => { await api("/api/processes/" + pidNumber(s.pid) + "/trace/stop", {method: "POST", body: {}}); tick(); });
          return h("tr", {data: {pid: s.pid}}, h("td", null, pidLink(s.pid)), h("td", {text: clock(s.started)}), h("td", {class: "num", text: num(s.events)}),
            h("td", {text: s.active ? "live" : s.stopped}), h("td", null, stop));
        }))) : h("div", {class: "muted", text: "nothing is traced"}));
    },
  };
}

// -- Names and registries ------------------------------------------------------------------
function namesView() {
  let local, regs;
  return {
    title: "Names",
    mount(main) {
      local = h("div", {class: "panel table-wrap", id: "names-local"});
      regs = h("div", {class: "panel table-wrap", id: "registries"});
      main.append(h("h2", {text: "Names and registries"}), h("div", {class: "grid"}, local, regs));
    },
    async update() {
      const n = await api("/api/names");
      fill(local, h("h3", {text: "Registered names (" + n.local.length + ")"}), h("table", null,
        h("thead", null, h("tr", null, h("th", {text: "name"}), h("th", {text: "pid"}))),
        h("tbody", {id: "local"}, n.local.map(e => h("tr", {data: {name: e.name}}, h("td", {class: "mono", text: e.name}), h("td", null, pidLink(e.pid)))))));
      fill(regs, h("h3", {text: "Registries (" + n.registries.length + ")"}), n.registries.length ? h("table", null,
        h("thead", null, h("tr", null, ["registry", "keys", "entries", "pid"].map(t => h("th", {text: t})))),
        h("tbody", {id: "registry-rows"}, n.registries.map(r => h("tr", {data: {registry: r.name || r.pid}},
          h("td", null, h("a", {nav: "/registries/" + pidNumber(r.pid), text: r.name || r.pid})), h("td", {text: r.keys || ""}),
          h("td", {class: "num", text: r.count === null ? "-" : num(r.count)}), h("td", null, pidLink(r.pid))))))
        : h("div", {class: "muted", text: "no Registry is running"}));
    },
  };
}

function registryView(number) {
  let head, table, filter;
  return {
    title: "Registry",
    mount(main) {
      head = h("div", {class: "proc-head"});
      filter = h("input", {type: "search", id: "registry-filter", placeholder: "filter keys, values or owners", value: query().get("filter") || ""});
      let debounce = null;
      filter.addEventListener("input", () => { clearTimeout(debounce); debounce = setTimeout(() => { setQuery({filter: filter.value}); tick(); }, 250); });
      table = h("div", {class: "panel table-wrap", id: "registry"});
      main.append(h("div", {class: "muted"}, h("a", {nav: "/names", text: "\u2190 Names"})), head, h("div", {class: "toolbar"}, filter), table);
    },
    async update() {
      const r = await api("/api/registries/" + number + "?" + new URLSearchParams({filter: query().get("filter") || ""}));
      fill(head, h("h2", {text: "Registry " + (r.name || r.pid)}), h("span", {class: "badge", text: r.keys + " keys"}),
        h("span", {class: "muted", text: num(r.count) + " entries · "}), pidLink(r.pid));
      fill(table, h("div", {class: "muted", text: num(r.entries.length) + " shown of " + num(r.matched) + " matching"}),
        h("table", null, h("thead", null, h("tr", null, ["key", "owner", "value"].map(t => h("th", {text: t})))),
          h("tbody", {id: "entries"}, r.entries.map(e => h("tr", {data: {key: e.key}}, h("td", null, h("pre", {text: e.key})), h("td", null, pidLink(e.pid)), h("td", null, h("pre", {text: e.value})))))));
    },
  };
}

// -- Nodes ---------------------------------------------------------------------------
function nodesView() {
  let box;
  return {
    title: "Nodes",
    mount(main) {
      box = h("div", {id: "nodes"});
      main.append(h("h2", {text: "Nodes"}), box);
    },
    async update() {
      const n = await api("/api/nodes");
      if (!n.alive) {
        fill(box, h("div", {class: "panel muted", id: "not-distributed", text: "This system is not a distributed node (start it with actors.run(main, node=\"name@host\") to connect it to other actors or Erlang nodes)."}));
        return;
      }
      const total = k => n.nodes.reduce((a, c) => a + (c[k] || 0), 0);
      fill(box, h("div", {class: "cards"},
          h("div", {class: "card"}, h("div", {class: "v", text: n.self}), h("div", {class: "k", text: "this node"})),
          h("div", {class: "card", data: {card: "connected"}}, h("div", {class: "v", text: n.nodes.length}), h("div", {class: "k", text: "connected nodes"})),
          h("div", {class: "card", data: {card: "in"}}, h("div", {class: "v", text: bytes(total("bytes_in_per_second")) + "/s"}), h("div", {class: "k", text: "received"})),
          h("div", {class: "card", data: {card: "out"}}, h("div", {class: "v", text: bytes(total("bytes_out_per_second")) + "/s"}), h("div", {class: "k", text: "sent"}))),
        h("div", {class: "panel table-wrap"}, h("h3", {text: "Connected nodes"}), n.nodes.length ? h("table", {id: "node-table"},
          h("thead", null, h("tr", null, [["node"], ["round trip (ping)", "num"], ["in", "num"], ["out", "num"], ["messages in / out", "num hide-narrow"],
            ["link", "hide-narrow"], ["connected", "hide-narrow"], [""]].map(([t, cls]) => h("th", {class: cls || "", text: t})))),
          h("tbody", {id: "node-rows"}, n.nodes.map(c => h("tr", {data: {node: c.name}},
            h("td", {class: "mono", text: c.name}),
            h("td", {class: "num", text: c.ping_ms === null ? "no answer" : c.ping_ms.toFixed(2) + " ms"}),
            h("td", {class: "num cell-spark", data: {col: "in"}}, bytes(c.bytes_in_per_second) + "/s", sparkline((c.history || {}).bytes_in_per_second)),
            h("td", {class: "num cell-spark", data: {col: "out"}}, bytes(c.bytes_out_per_second) + "/s", sparkline((c.history || {}).bytes_out_per_second)),
            h("td", {class: "num hide-narrow", data: {col: "packets"}, title: bytes(c.bytes_in) + " in, " + bytes(c.bytes_out) + " out in all",
                     text: num(c.packets_in) + " / " + num(c.packets_out)}),
            h("td", {class: "hide-narrow", text: [c.type, c.tls ? "TLS" : "TCP", c.address].filter(Boolean).join(" · ")}),
            h("td", {class: "hide-narrow", text: c.seen_since ? "since " + clock(c.seen_since) + " (" + ago(c.seen_since) + ")" : "-"}),
            h("td", null, h("a", {nav: "/nodes/" + nodePart(c.name) + "/processes", class: "browse", text: "processes \u2192",
                                  title: "browse its processes (an actors node; an Erlang node does not answer)"}))))))
          : h("div", {class: "muted", text: "no node is connected"})));
    },
  };
}

// -- start ---------------------------------------------------------------------------
const interval = $("interval");
interval.value = localStorage.getItem("actors-observer-interval") || "1000";
interval.addEventListener("change", () => { localStorage.setItem("actors-observer-interval", interval.value); schedule(); });
render();
schedule();
})();
