// erbench results explorer (bench site build). No server, no network: data comes from
// data/*.js chunks that call erbench.put(key, data), loaded on demand by <script src>.
// Every value from the data (model output, dataset text, config) is put in the page as a
// text node or an attribute value, never parsed as HTML.
"use strict";

const erbench = (() => {
  const store = new Map();
  const waiting = new Map();
  function put(key, data) {
    store.set(key, data);
    (waiting.get(key) || []).forEach((resolve) => resolve(data));
    waiting.delete(key);
  }
  function load(key, src) {
    if (store.has(key)) return Promise.resolve(store.get(key));
    return new Promise((resolve, reject) => {
      const first = !waiting.has(key);
      waiting.set(key, (waiting.get(key) || []).concat([resolve]));
      if (!first) return;
      const script = document.createElement("script");
      script.src = src;
      script.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(script);
    });
  }
  return { put, load };
})();
window.erbench = erbench;

// -- small DOM helpers ---------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "onclick" || name === "onchange" || name === "oninput") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  return String(value);
}

function show(value) {
  // a config / provenance value as one line of text
  if (value === null || value === undefined) return "null";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function link(hash, text, attrs) {
  return el("a", Object.assign({ href: hash }, attrs || {}), text);
}

function runHash(id) {
  return "#/run/" + encodeURIComponent(id);
}

function flatten(obj, prefix, out) {
  out = out || [];
  if (obj && typeof obj === "object" && !Array.isArray(obj) && Object.keys(obj).length) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? prefix + "." + k : k, out);
  } else {
    out.push([prefix, obj]);
  }
  return out;
}

function kvTable(pairs, id) {
  return el("table", { class: "kv", id: id },
    pairs.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, show(v)))));
}

// -- routing -----------------------------------------------------------------------------

let INDEX = null;
const runsById = new Map();

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "tables", args: parts.slice(1), params: new URLSearchParams(query || "") };
}

function setHash(page, args, params) {
  const query = params && [...params.keys()].length ? "?" + params.toString() : "";
  const hash = "#/" + [page, ...args.map(encodeURIComponent)].join("/") + query;
  document.body.removeAttribute("data-ready"); // set again once the new view is drawn
  if (location.hash !== hash) location.hash = hash;
  else route();
}

const PAGES = {
  tables: pageTables, runs: pageRuns, run: pageRun, browse: pageBrowse, compare: pageCompare,
  human: pageHuman,
};

let routeCount = 0;
async function route() {
  const view = document.getElementById("view");
  const { page, args, params } = parseHash();
  const ticket = ++routeCount;
  document.body.removeAttribute("data-ready");
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.id === "nav-" + (page === "run" ? "runs" : page)));
  const render = PAGES[page] || pageTables;
  try {
    const content = await render(args, params);
    if (ticket !== routeCount) return; // a newer view was asked for meanwhile
    view.replaceChildren(content);
    if (page === "tables" && params.get("t")) { const s = document.getElementById("spec-" + params.get("t")); if (s) s.scrollIntoView(); }
    document.body.setAttribute("data-ready", page);
  } catch (err) {
    if (ticket !== routeCount) return;
    view.replaceChildren(el("p", { class: "error" }, "error: " + err.message));
    document.body.setAttribute("data-ready", "error");
  }
}

// -- leaderboards ------------------------------------------------------------------------

function cellNode(cell) {
  const classes = [cell.bold ? "best" : cell.underline ? "second" : "", cell.missing ? "missing" : ""].filter(Boolean);
  const hover = [];
  if (cell.n) hover.push("n = " + cell.n);
  if (cell.p !== null && cell.p !== undefined) hover.push("p = " + cell.p.toPrecision(3));
  if (cell.unranked) hover.push(cell.unranked);
  if (cell.modified) hover.push("modified data: " + cell.modified);
  const td = el("td", { class: classes.join(" ") || null, title: hover.join("; ") || null });
  td.appendChild(cell.runs && cell.runs.length ? link(runHash(cell.runs[0]), cell.text, { class: "cell-link" }) : document.createTextNode(cell.text));
  cell.marks.forEach((m) => td.appendChild(el("span", { class: "mark " + m.class, title: m.why }, m.mark)));
  (cell.runs || []).slice(1).forEach((id, i) => td.appendChild(link(runHash(id), "[" + (i + 2) + "]", { class: "seedlink", title: id })));
  if (cell.n) td.appendChild(el("span", { class: "n" }, "n=" + cell.n));
  return td;
}

function sortRows(rows, column, dir) {
  if (column < 0) return rows;
  const sign = dir === "asc" ? 1 : -1;
  return rows.slice().sort((a, b) => {
    const x = a.cells[column].mean, y = b.cells[column].mean;
    if (x === null && y === null) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return sign * (x - y);
  });
}

function tableNode(table, sort, params) {
  const hasTops = table.columns.some((c) => c.top);
  const thead = el("thead");
  if (hasTops) {
    const groups = [];
    table.columns.forEach((c) => {
      if (groups.length && groups[groups.length - 1][0] === c.top) groups[groups.length - 1][1]++;
      else groups.push([c.top, 1]);
    });
    thead.appendChild(el("tr", {}, el("th", {}), groups.map(([top, span]) => el("th", { colspan: span }, top || ""))));
  }
  const sortTo = (column) => () => {
    const same = sort && sort.column === column;
    const hib = column >= 0 ? table.columns[column].higher_is_better : null;
    const first = hib === false ? "asc" : "desc"; // best first
    const dir = same ? (sort.dir === "asc" ? "desc" : "asc") : first;
    const next = new URLSearchParams(params);
    if (column < 0) next.delete("sort");
    else next.set("sort", table.name + "~" + column + "~" + dir);
    setHash("tables", [], next);
  };
  thead.appendChild(el("tr", {},
    el("th", { class: "sortable", onclick: sortTo(-1), title: "spec order" }, "Model"),
    table.columns.map((c, j) => el("th", {
      class: "sortable", onclick: sortTo(j), "data-col": j,
      title: "sort by " + c.label + (c.higher_is_better === false ? " (lower is better)" : c.higher_is_better ? " (higher is better)" : ""),
    }, c.label, sort && sort.column === j ? (sort.dir === "asc" ? " ▲" : " ▼") : ""))));
  const node = el("table", { class: "leaderboard", id: "table-" + table.name }, thead);
  for (const block of table.blocks) {
    const body = el("tbody");
    if (block.title) body.appendChild(el("tr", { class: "block" }, el("th", { colspan: table.columns.length + 1 }, block.title)));
    const rows = sort ? sortRows(block.rows, sort.column, sort.dir) : block.rows;
    for (const row of rows) {
      body.appendChild(el("tr", { class: row.published ? "published" : null, "data-row": row.id },
        el("td", {}, row.label), row.cells.map(cellNode)));
    }
    node.appendChild(body);
  }
  return node;
}

function notesNode(table) {
  const out = [table.footnotes.map((line) => el("p", { class: "note" }, line))];
  for (const [title, lines] of [["Not ranked", table.unranked], ["Missing cells", table.missing], ["Notes", table.notes]]) {
    if (lines.length) out.push(el("details", {}, el("summary", {}, title + " (" + lines.length + ")"), el("ul", {}, lines.map((l) => el("li", { class: "note" }, l)))));
  }
  return out;
}

async function pageTables(args, params) {
  const wanted = params.get("sort") || "";
  const [sortName, sortCol, sortDir] = wanted.split("~");
  const out = el("div", {}, el("h1", {}, "Leaderboards"),
    el("p", { class: "muted" }, "Every table spec with a filled cell, as bench tables builds it. Click a column to sort; a reproduced cell links to its run."));
  if (!INDEX.tables.length) out.appendChild(el("p", {}, "No table has a filled cell yet."));
  const toc = el("ul", { id: "toc" }, INDEX.tables.map((t) => el("li", {}, link("#/tables?t=" + encodeURIComponent(t.name), t.title))));
  out.appendChild(toc);
  for (const table of INDEX.tables) {
    const sort = sortName === table.name ? { column: Number(sortCol), dir: sortDir } : null;
    out.appendChild(el("section", { id: "spec-" + table.name },
      el("h2", {}, table.title), el("p", { class: "muted" }, "spec " + table.name + (table.kind !== "table" ? " (" + table.kind + ")" : "")),
      tableNode(table, sort, params), notesNode(table)));
  }
  if (INDEX.skipped_tables.length) {
    out.appendChild(el("details", {}, el("summary", {}, "Specs not shown (" + INDEX.skipped_tables.length + ")"),
      el("ul", {}, INDEX.skipped_tables.map((l) => el("li", { class: "note" }, l)))));
  }
  return out;
}

// -- runs ----------------------------------------------------------------------------------

async function pageRuns() {
  const head = el("tr", {}, ["run", "method", "dataset", "seed", "profile", "records", "finished"].map((h) => el("th", {}, h)));
  return el("div", {}, el("h1", {}, "Runs"),
    el("table", { id: "runs" }, el("thead", {}, head), el("tbody", {}, INDEX.runs.map((r) => el("tr", {},
      el("td", {}, link(runHash(r.id), r.id)), el("td", {}, r.method), el("td", {}, r.dataset), el("td", {}, r.seed),
      el("td", {}, r.profile || "—"), el("td", {}, r.records.toLocaleString("en")), el("td", {}, r.finished_at || "—"))))));
}

function loadRun(id) {
  const r = runsById.get(id);
  if (!r) return Promise.reject(new Error("no run " + id + " in this site"));
  return erbench.load("run/" + id, "data/runs/" + r.file + ".js");
}

function loadRecords(id) {
  const r = runsById.get(id);
  const parts = [];
  for (let k = 0; k < r.chunks; k++) parts.push(erbench.load("records/" + id + "/" + k, "data/records/" + r.file + "/" + k + ".js"));
  return Promise.all(parts).then((chunks) => [].concat(...chunks));
}

function loadRecordAt(id, position) {
  const r = runsById.get(id);
  const k = Math.floor(position / INDEX.chunk);
  return erbench.load("records/" + id + "/" + k, "data/records/" + r.file + "/" + k + ".js").then((c) => c[position - k * INDEX.chunk]);
}

function curveNode(curve) {
  const w = 280, h = 150, pad = 34;
  const xs = curve.points.map((p) => p[0]), ys = curve.points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (w - pad - 6);
  const sy = (y) => h - 18 - (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0)) * (h - 30);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  const path = document.createElementNS(ns, "polyline");
  path.setAttribute("points", curve.points.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "));
  path.setAttribute("fill", "none"); path.setAttribute("stroke", "#2a5db0"); path.setAttribute("stroke-width", "1.5");
  svg.appendChild(path);
  const label = (x, y, text, anchor) => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("text-anchor", anchor || "start");
    t.textContent = text; svg.appendChild(t);
  };
  label(2, 12, fmt(y1, 3)); label(2, h - 20, fmt(y0, 3));
  label(pad, h - 4, "step " + x0); label(w - 4, h - 4, String(x1), "end");
  return el("figure", { class: "curve" }, svg, el("figcaption", {}, curve.stage + " · " + curve.key + " (" + curve.points.length + " points)"));
}

function explanationRows(records, n) {
  return el("table", { id: "explanations" },
    el("thead", {}, el("tr", {}, ["#", "user", "item", "true", "predicted", "explanation", "reference"].map((h) => el("th", {}, h)))),
    el("tbody", {}, records.slice(0, n).map((r) => el("tr", {},
      el("td", {}, r.idx), el("td", {}, r.user_id), el("td", {}, (r.extras && r.extras.title) || r.item_id),
      el("td", {}, fmt(r.rating_true ?? r.label, 2)), el("td", {}, fmt(r.rating ?? r.ctr_score, 3)),
      el("td", { class: "text" }, r.explanation ?? "—"), el("td", { class: "text" }, r.reference ?? "—")))));
}

async function pageRun(args) {
  const id = args[0];
  const run = await loadRun(id);
  const meta = runsById.get(id);
  const first = meta.records ? await erbench.load("records/" + id + "/0", "data/records/" + meta.file + "/0.js") : [];
  const group = INDEX.groups.find((g) => g.id === meta.group);
  const partners = group.runs.filter((r) => r !== id);
  const out = el("div", {}, el("h1", { id: "run-title" }, run.id),
    el("p", {}, run.method + " · " + run.dataset + " · seed " + run.seed + " · profile " + (run.profile || "default") + " · finished " + (run.finished_at || "?")),
    el("p", {}, link("#/browse?g=" + group.id + "&runs=" + encodeURIComponent(id), "browse its " + run.records.toLocaleString("en") + " records", { id: "browse-run" }),
      partners.length ? [" · compare with: ", partners.map((p, i) => [i ? ", " : "", link("#/compare/" + encodeURIComponent(id) + "/" + encodeURIComponent(p), runsById.get(p).method + " s" + runsById.get(p).seed, { title: p })])] : ""));
  if (run.data_issues.length) out.appendChild(el("p", { class: "missing" }, "read modified data: " + run.data_issues.join("; ")));

  out.appendChild(el("h2", {}, "Metrics"));
  out.appendChild(el("table", { id: "metrics" },
    el("thead", {}, el("tr", {}, ["metric", "split", "value", "n", "better", "version (scorer checkpoint, judge, ...)"].map((h) => el("th", {}, h)))),
    el("tbody", {}, run.metrics.map((m) => el("tr", {}, el("td", {}, m.metric), el("td", {}, m.split), el("td", {}, fmt(m.value)),
      el("td", {}, fmt(m.n)), el("td", {}, m.higher_is_better ? "↑" : "↓"),
      el("td", { class: "text" }, Object.entries(m.version).map(([k, v]) => k + "=" + show(v)).join("; ")))))));
  const unavailable = Object.entries(run.unavailable);
  if (unavailable.length) {
    out.appendChild(el("h3", {}, "Unavailable or not applicable"));
    out.appendChild(el("ul", { id: "unavailable" }, unavailable.map(([k, why]) => el("li", {}, el("b", {}, k), ": " + why))));
  }

  out.appendChild(el("h2", {}, "Configuration"));
  out.appendChild(el("h3", {}, "Changed from the profile's defaults"));
  if (!run.config.changed_known) out.appendChild(el("p", { class: "muted" }, "not recorded by this run"));
  else if (!run.config.changed.length) out.appendChild(el("p", { class: "muted" }, "nothing: every setting at its default"));
  else out.appendChild(el("table", { class: "kv", id: "config-changed" },
    el("thead", {}, el("tr", {}, el("th", {}, "setting"), el("th", {}, "value"), el("th", {}, "default"))),
    el("tbody", {}, run.config.changed.map((c) => el("tr", { class: "changed" }, el("td", {}, c.key), el("td", {}, show(c.value)), el("td", {}, show(c.default)))))));
  out.appendChild(el("details", {}, el("summary", {}, "Every other setting (" + run.config.rest.length + ")"),
    kvTable(run.config.rest.map((c) => [c.key, c.value]), "config-rest")));

  out.appendChild(el("h2", {}, "Provenance"));
  const stages = Object.entries(run.stage_seconds);
  if (stages.length) out.appendChild(kvTable(stages.map(([s, sec]) => ["stage " + s + " (s)", sec]), "stage-seconds"));
  out.appendChild(el("details", { open: true }, el("summary", {}, "provenance.json"), kvTable(flatten(run.provenance, ""), "provenance")));

  out.appendChild(el("h2", {}, "Training curves"));
  if (!run.curves.length) out.appendChild(el("p", { class: "muted" }, "no train log"));
  else out.appendChild(el("div", { class: "curves", id: "curves" }, run.curves.map(curveNode)));

  out.appendChild(el("h2", {}, "Explanations"));
  out.appendChild(el("p", { class: "muted" }, "The first " + Math.min(20, first.length) + " of " + run.records.toLocaleString("en") + " records; the instance browser has them all."));
  out.appendChild(explanationRows(first, 20));
  return out;
}

// -- instance browser ------------------------------------------------------------------------

const ROWS_PER_PAGE = 250; // records x runs drawn at once: 25 records of 10 runs, 6 of 40
const textCache = new Map(); // run id -> lowercased search text per record position

function searchText(id, records) {
  if (!textCache.has(id)) {
    textCache.set(id, records.map((r) => [r.explanation, r.reference, r.user_id, r.item_id, r.extras && r.extras.title]
      .filter((x) => x !== null && x !== undefined).join(" \u0001 ").toLowerCase()));
  }
  return textCache.get(id);
}

// sort keys: "idx", "m:<run>:<metric>", "err:<run>" (|rating - true|), "d:<metric>" (|A − B| of the first two runs)
function sortKey(key, chosen, data) {
  const [kind, ...rest] = key.split(":");
  const n = data[chosen[0]].length;
  const values = new Float64Array(n);
  const at = (id, i) => (data[id] ? data[id][i] : undefined);
  for (let i = 0; i < n; i++) {
    let v = NaN;
    if (kind === "m") { const r = at(rest[0], i); v = r && r.scores[rest.slice(1).join(":")]; }
    else if (kind === "err") { const r = at(rest[0], i); v = r && r.rating !== null && r.rating_true !== null ? Math.abs(r.rating - r.rating_true) : NaN; }
    else if (kind === "d") {
      const m = rest.join(":"), a = at(chosen[0], i), b = at(chosen[1], i);
      v = a && b && a.scores[m] !== undefined && b.scores[m] !== undefined ? Math.abs(a.scores[m] - b.scores[m]) : NaN;
    } else v = i;
    values[i] = v === undefined || v === null ? NaN : v;
  }
  return values;
}

function sortOptions(chosen) {
  const opts = [["idx", "record order"]];
  for (const id of chosen) {
    const r = runsById.get(id);
    const who = r.method + " s" + r.seed;
    r.per_example_metrics.forEach((m) => opts.push(["m:" + id + ":" + m, m + " — " + who]));
    if (r.has.rating) opts.push(["err:" + id, "rating error |predicted − true| — " + who]);
  }
  if (chosen.length >= 2) {
    const a = runsById.get(chosen[0]), b = runsById.get(chosen[1]);
    a.per_example_metrics.filter((m) => b.per_example_metrics.includes(m))
      .forEach((m) => opts.push(["d:" + m, "disagreement |A − B| on " + m + " (" + a.method + " vs " + b.method + ")"]));
  }
  return opts;
}

function contextNode(record) {
  const lines = [];
  const extras = record.extras || {};
  for (const [k, v] of Object.entries(extras)) {
    lines.push(el("div", { class: "context" }, el("b", {}, k + ": "), Array.isArray(v) ? v.map(show).join(" · ") : show(v)));
  }
  return lines;
}

const SCORES_SHOWN = 4; // per-example values listed per run; the rest fold away

function scoresNode(scores, focus) {
  // the sorted or filtered metric first, then the others in their order
  const entries = Object.entries(scores).sort((a, b) => (focus.includes(b[0]) ? 1 : 0) - (focus.includes(a[0]) ? 1 : 0));
  const line = ([m, v]) => m + " " + fmt(v, 3);
  const td = el("td", { class: "text scores" }, entries.slice(0, SCORES_SHOWN).map(line).join("\n"));
  if (entries.length > SCORES_SHOWN) {
    td.appendChild(el("details", {}, el("summary", {}, (entries.length - SCORES_SHOWN) + " more"), entries.slice(SCORES_SHOWN).map(line).join("\n")));
  }
  return td;
}

function recordNode(position, chosen, data, focus) {
  const base = data[chosen[0]][position];
  const card = el("div", { class: "record", id: "rec-" + base.idx, "data-idx": base.idx });
  card.appendChild(el("h3", {}, "record " + base.idx + " · user " + base.user_id + " · item " + base.item_id +
    (base.rating_true !== null && base.rating_true !== undefined ? " · true rating " + fmt(base.rating_true, 1) : "") +
    (base.label !== null && base.label !== undefined ? " · label " + base.label : "")));
  card.appendChild(el("div", { class: "ctx" }, contextNode(base)));
  if (base.reference) card.appendChild(el("div", { class: "context" }, el("b", {}, "reference: "), base.reference));
  const rows = chosen.map((id) => {
    const r = data[id][position];
    const meta = runsById.get(id);
    const extrasDiffer = id !== chosen[0] && JSON.stringify(r.extras) !== JSON.stringify(base.extras);
    return el("tr", { "data-run": id },
      el("td", {}, link(runHash(id), meta.method + " s" + meta.seed, { title: id })),
      el("td", {}, r.rating !== null && r.rating !== undefined ? fmt(r.rating, 2) : r.ctr_score !== null && r.ctr_score !== undefined ? "CTR " + fmt(r.ctr_score, 3) : "—"),
      el("td", { class: "text explanation" }, r.explanation ?? "—", extrasDiffer ? el("div", {}, contextNode(r)) : null),
      scoresNode(r.scores, focus));
  });
  card.appendChild(el("table", {}, el("thead", {}, el("tr", {}, ["run", "rating / score", "explanation", "per-example metrics"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
  return card;
}

async function pageBrowse(args, params) {
  const groups = INDEX.groups;
  const out = el("div", {}, el("h1", {}, "Instance browser"));
  if (!groups.length) return el("div", {}, out, el("p", {}, "no runs"));
  const group = groups.find((g) => g.id === params.get("g")) || groups.find((g) => g.runs.length > 1) || groups[0];
  const asked = (params.get("runs") || "").split(",").filter((id) => group.runs.includes(id));
  const chosen = asked.length ? asked : group.runs.slice(0, 2);
  const next = (changes) => {
    const p = new URLSearchParams(params);
    p.set("g", group.id); p.set("runs", chosen.join(","));
    for (const [k, v] of Object.entries(changes)) { if (v === null || v === "") p.delete(k); else p.set(k, v); }
    if (!("page" in changes)) p.delete("page");
    setHash("browse", [], p);
  };

  const groupSelect = el("select", { id: "group", onchange: (e) => setHash("browse", [], new URLSearchParams({ g: e.target.value })) },
    groups.map((g) => el("option", { value: g.id, selected: g.id === group.id }, g.label + " (" + g.runs.length + " runs)")));
  const runBoxes = group.runs.map((id) => {
    const meta = runsById.get(id);
    return el("label", { title: id }, el("input", {
      type: "checkbox", class: "run-pick", value: id, checked: chosen.includes(id),
      onchange: (e) => {
        const picked = e.target.checked ? chosen.concat([id]) : chosen.filter((x) => x !== id);
        if (picked.length) { const p = new URLSearchParams(params); p.set("g", group.id); p.set("runs", picked.join(",")); p.delete("page"); setHash("browse", [], p); }
      },
    }), " " + meta.method + " s" + meta.seed + " (" + (meta.profile || "default") + ")");
  });

  const loaded = await Promise.all(chosen.map(loadRecords));
  const data = {};
  chosen.forEach((id, i) => { data[id] = loaded[i]; });
  const n = data[chosen[0]].length;

  const options = sortOptions(chosen);
  const sort = options.some(([k]) => k === params.get("sort")) ? params.get("sort") : "idx";
  const dir = params.get("dir") === "desc" ? "desc" : "asc";
  const query = (params.get("q") || "").trim().toLowerCase();
  const filterKey = options.some(([k]) => k === params.get("f")) ? params.get("f") : "";
  const fmin = params.get("min"), fmax = params.get("max");

  let order = [];
  for (let i = 0; i < n; i++) order.push(i);
  if (query) {
    const texts = chosen.map((id) => searchText(id, data[id]));
    order = order.filter((i) => texts.some((t) => t[i].includes(query)));
  }
  if (filterKey && (fmin || fmax)) {
    const fv = sortKey(filterKey, chosen, data);
    order = order.filter((i) => !Number.isNaN(fv[i]) && (!fmin || fv[i] >= Number(fmin)) && (!fmax || fv[i] <= Number(fmax)));
  }
  if (sort !== "idx" || dir === "desc") {
    const keys = sortKey(sort, chosen, data);
    const sign = dir === "desc" ? -1 : 1;
    order.sort((a, b) => {
      const x = keys[a], y = keys[b];
      if (Number.isNaN(x)) return Number.isNaN(y) ? a - b : 1;
      if (Number.isNaN(y)) return -1;
      return x === y ? a - b : sign * (x - y);
    });
  }
  const rec = params.get("rec");
  if (rec !== null) order = order.filter((i) => String(data[chosen[0]][i].idx) === rec);
  const pageSize = Math.max(5, Math.min(25, Math.floor(ROWS_PER_PAGE / chosen.length)));
  const pages = Math.max(1, Math.ceil(order.length / pageSize));
  const page = Math.min(pages - 1, Math.max(0, Number(params.get("page") || 0)));

  const sortSelect = el("select", { id: "sort", onchange: (e) => next({ sort: e.target.value }) },
    options.map(([k, label]) => el("option", { value: k, selected: k === sort }, label)));
  const dirSelect = el("select", { id: "dir", onchange: (e) => next({ dir: e.target.value }) },
    el("option", { value: "asc", selected: dir === "asc" }, "ascending (worst first for ↑ metrics)"),
    el("option", { value: "desc", selected: dir === "desc" }, "descending"));
  const search = el("input", { id: "search", type: "search", placeholder: "search explanations, references, items", value: params.get("q") || "" });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") next({ q: search.value }); });
  const filterSelect = el("select", { id: "filter" }, el("option", { value: "" }, "no filter"),
    options.filter(([k]) => k !== "idx").map(([k, label]) => el("option", { value: k, selected: k === filterKey }, label)));
  const minBox = el("input", { id: "fmin", type: "number", step: "any", placeholder: "min", value: fmin || "", size: 6 });
  const maxBox = el("input", { id: "fmax", type: "number", step: "any", placeholder: "max", value: fmax || "", size: 6 });
  const apply = el("button", { id: "apply", onclick: () => next({ q: search.value, f: filterSelect.value, min: minBox.value, max: maxBox.value }) }, "apply");

  out.appendChild(el("div", { class: "controls" },
    el("label", {}, "records: ", groupSelect), el("span", { id: "run-picks" }, runBoxes)));
  out.appendChild(el("div", { class: "controls" },
    el("label", {}, "sort ", sortSelect), dirSelect, el("label", {}, "search ", search),
    el("label", {}, "filter ", filterSelect), minBox, maxBox, apply,
    rec !== null ? link("#/browse?" + (() => { const p = new URLSearchParams(params); p.delete("rec"); return p.toString(); })(), "show all records") : null));
  const state = new URLSearchParams({ g: group.id, runs: chosen.join(",") });
  if (sort !== "idx") state.set("sort", sort);
  if (dir !== "asc") state.set("dir", dir);
  for (const k of ["q", "f", "min", "max", "rec"]) if (params.get(k)) state.set(k, params.get(k));
  if (page) state.set("page", String(page));
  const here = location.href.split("#")[0] + "#/browse?" + state.toString();
  out.appendChild(el("p", {}, "permalink: ", el("input", { class: "permalink", id: "permalink", readonly: true, value: here })));
  out.appendChild(el("p", { id: "count" }, order.length.toLocaleString("en") + " of " + n.toLocaleString("en") + " records" + (query ? " match “" + query + "”" : "")));
  const pager = () => el("div", { class: "pager" },
    el("button", { disabled: page === 0, onclick: () => next({ page: String(page - 1) }) }, "◀"),
    "page " + (page + 1) + " of " + pages,
    el("button", { class: "next-page", disabled: page >= pages - 1, onclick: () => next({ page: String(page + 1) }) }, "▶"));
  out.appendChild(pager());
  const list = el("div", { id: "records" });
  const focus = [sort, filterKey].map((k) => k.replace(/^(m:[^:]*:|d:)/, "")); // metric names in view
  order.slice(page * pageSize, (page + 1) * pageSize).forEach((i) => list.appendChild(recordNode(i, chosen, data, focus)));
  out.appendChild(list);
  out.appendChild(pager());
  return out;
}

// -- compare ---------------------------------------------------------------------------------

async function pageCompare(args) {
  const out = el("div", {}, el("h1", {}, "Compare two runs"));
  const [a, b] = args;
  const pairs = Object.keys(INDEX.compare).map((k) => k.split("|"));
  const pick = el("select", { id: "pair", onchange: (e) => { const [x, y] = e.target.value.split("|"); setHash("compare", [x, y]); } },
    el("option", { value: "" }, "pick a pair of runs scored on the same records"),
    pairs.map(([x, y]) => el("option", { value: x + "|" + y, selected: x === a && y === b },
      runsById.get(x).method + " s" + runsById.get(x).seed + " vs " + runsById.get(y).method + " s" + runsById.get(y).seed + " (" + runsById.get(x).dataset + ")")));
  out.appendChild(el("p", {}, pick));
  if (INDEX.compare_skipped) out.appendChild(el("p", { class: "muted" }, INDEX.compare_skipped + " more pair(s) not precomputed (bench site build --max-compare-pairs); bench compare A B gives their numbers."));
  if (!a || !b) return out;
  let key = a + "|" + b, swapped = false;
  if (!INDEX.compare[key] && INDEX.compare[b + "|" + a]) { key = b + "|" + a; swapped = true; }
  if (!INDEX.compare[key]) {
    out.appendChild(el("p", {}, "This pair was not precomputed in this build. Run: bench compare " + a + " " + b));
    return out;
  }
  if (swapped) { setHash("compare", [b, a]); return out; }
  const c = await erbench.load("compare/" + a + "/" + b, INDEX.compare[key]);
  out.appendChild(el("p", {}, "A: ", link(runHash(a), a), el("br"), "B: ", link(runHash(b), b), el("br"),
    "both scored on the same " + (c.n_records === null ? "?" : c.n_records.toLocaleString("en")) + " test records (records " + c.records_digest.slice(0, 12) + ")"));
  if (!c.metrics.length) out.appendChild(el("p", { class: "muted" }, "No metric that both runs report."));
  out.appendChild(el("table", { id: "compare-table" },
    el("thead", {}, el("tr", {}, ["metric", "A", "B", "A − B", "p (t-test)", "95% CI of A − B", "n"].map((h) => el("th", {}, h)))),
    el("tbody", {}, c.metrics.map((m) => el("tr", {}, el("td", {}, m.metric), el("td", {}, fmt(m.a)), el("td", {}, fmt(m.b)),
      el("td", {}, m.diff === null ? "—" : (m.diff >= 0 ? "+" : "") + m.diff.toFixed(4)),
      el("td", {}, m.p_ttest === null ? "—" : m.p_ttest.toPrecision(3)),
      el("td", {}, m.ci_low === null ? "corpus-level: no test" : "[" + m.ci_low.toFixed(4) + ", " + m.ci_high.toFixed(4) + "]"),
      el("td", {}, fmt(m.n)))))));
  out.appendChild(el("p", { class: "muted" }, "only in A: " + (c.only_in_a.join(", ") || "—") + "; only in B: " + (c.only_in_b.join(", ") || "—")));
  const group = runsById.get(a).group;
  out.appendChild(el("h2", {}, "Records that changed most"));
  if (!Object.keys(c.changed_most).length) out.appendChild(el("p", { class: "muted" }, "No per-example metric that both runs hold."));
  for (const [metric, rows] of Object.entries(c.changed_most)) {
    const body = el("tbody");
    for (const row of rows) {
      const position = (await loadRecords(a)).findIndex((r) => r.idx === row.idx);
      const [ra, rb] = await Promise.all([loadRecordAt(a, position), loadRecordAt(b, position)]);
      const hash = "#/browse?" + new URLSearchParams({ g: group, runs: a + "," + b, rec: String(row.idx) }).toString();
      body.appendChild(el("tr", {}, el("td", {}, link(hash, String(row.idx))), el("td", {}, fmt(row.a, 3)), el("td", {}, fmt(row.b, 3)),
        el("td", {}, fmt(row.a - row.b, 3)), el("td", { class: "text" }, ra.explanation ?? "—"), el("td", { class: "text" }, rb.explanation ?? "—")));
    }
    out.appendChild(el("h3", {}, metric));
    out.appendChild(el("table", { class: "changed-most" }, el("thead", {}, el("tr", {}, ["record", "A", "B", "A − B", "A's explanation", "B's explanation"].map((h) => el("th", {}, h)))), body));
  }
  return out;
}

// -- human evaluation ------------------------------------------------------------------------

async function pageHuman() {
  const out = el("div", {}, el("h1", {}, "Human evaluation"));
  if (!INDEX.campaigns.length) out.appendChild(el("p", {}, "No campaign analysis in this build (bench site build --campaign DIR, after bench annotate export)."));
  for (const c of INDEX.campaigns) {
    out.appendChild(el("h2", {}, c.name + " (" + (c.task || "?") + ")"));
    out.appendChild(kvTable(flatten(c.summary, ""), "campaign-" + c.name));
  }
  return out;
}

// -- start -----------------------------------------------------------------------------------

erbench.load("index", "data/index.js").then((index) => {
  INDEX = index;
  index.runs.forEach((r) => runsById.set(r.id, r));
  window.addEventListener("hashchange", route);
  route();
}, (err) => {
  document.getElementById("view").textContent = "error: " + err.message + " (is data/ beside index.html?)";
});
