/* SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE) */
/* The Gearbox dashboard (docs/dashboard.md).  No framework, no build step.
 *
 * Everything comes from the gateway's own API:
 *   api/info (beside this file)        the locations and where the metrics are
 *   <prefix>/v1/status;_expand=1;...   each location's recent statuses
 *   <status_uri>                       one status (GET), its cancellation (POST)
 *   /metrics                           Prometheus text, sampled into the charts
 * Views are chosen by the URL's fragment: "#/" the list, "#/status/<path>"
 * (or "#/status?url=<absolute uri>" for another gateway) one status.
 */
"use strict";

const LIST_POLL_MS = 2000;
const STATUS_POLL_MS = 1000;
const METRICS_POLL_MS = 3000;
const METRICS_WINDOW_S = 600;     /* what the charts show */
const METRICS_OFF_POLL_MS = 30000; /* while /metrics is not there */
const TREE_MAX_NODES = 200;
const TREE_MAX_DEPTH = 8;
const FINAL_STATES = new Set(["COMPLETED", "CANCELLED"]);
const UNCANCELLABLE = new Set(["STOPPING", "STOPPED", "CANCELLING", "CANCELLED"]);

const $ = (id) => document.getElementById(id);

let info = null;           /* api/info */
let prefixes = [];         /* distinct location prefixes, with their component */
let view = null;           /* "list" or "status" */
let listTimer = 0, statusTimer = 0;
let generation = 0;        /* bumped on every view change: late answers are dropped */

/* ---- small helpers ---------------------------------------------------- */

/* An element: h("a", {href: "#", class: "x"}, "text", child, ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/* The last path segment of a status URI: its id. */
function statusId(uri) {
  const m = /\/status\/([^/;?#]+)/.exec(uri || "");
  return m ? decodeURIComponent(m[1]) : uri;
}

/* A URI as this page can fetch it: the path alone when a location of this
 * gateway serves it (statuses are found by id under any location), else the
 * absolute URI (another gateway: the browser may refuse it). */
function fetchable(uri) {
  try {
    const u = new URL(uri, location.href);
    if (u.origin === location.origin) return u.pathname + u.search;
    for (const p of prefixes)  /* a location at the root would claim every path */
      if (p.prefix && (u.pathname === p.prefix || u.pathname.startsWith(p.prefix + "/")))
        return u.pathname + u.search;
    return u.href;
  } catch (e) {
    return uri;
  }
}

/* The fragment of a status's page. */
function statusLink(uri) {
  const f = fetchable(uri);
  return f.startsWith("/") ? "#/status" + f : "#/status?url=" + encodeURIComponent(f);
}

/* A resource URI shortened to its path. */
function shortUri(uri) {
  try {
    const u = new URL(uri, location.href);
    return u.origin === location.origin ? u.pathname + u.search : u.href;
  } catch (e) {
    return uri || "";
  }
}

function ago(seconds) {
  if (!seconds) return "";
  const d = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  if (d < 60) return d + " s ago";
  if (d < 3600) return Math.floor(d / 60) + " min ago";
  if (d < 86400) return Math.floor(d / 3600) + " h ago";
  return Math.floor(d / 86400) + " d ago";
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

function failed(st) {
  return st.state === "COMPLETED" && st.code !== undefined && st.code !== 0;
}

function stateClasses(st) {
  return "s-" + st.state + (failed(st) ? " failed" : "");
}

function stateLabel(st) {
  return failed(st) ? st.state + " · code " + st.code : st.state;
}

function newest(st) {
  const m = st.messages || [];
  return m.length ? String(m[m.length - 1]) : "";
}

async function getJSON(url) {
  const r = await fetch(url, {headers: {Accept: "application/json"}, cache: "no-store"});
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    body = null;
  }
  if (!r.ok) {
    const msg = body && body.messages && body.messages[0] ? body.messages[0] : r.status + " " + r.statusText;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return body;
}

/* ---- the progress bar of a status (list rows and tree nodes) ---------- */

function bar(label) {
  const p = h("progress", {max: "100", value: "0", "aria-label": label});
  const pct = h("span", {class: "pct"});
  return {el: h("div", {class: "bar"}, p, pct), progress: p, pct};
}

function setBar(b, st) {
  const v = Math.max(0, Math.min(100, Number(st.progress) || 0));
  if (b.progress.value !== v) b.progress.value = v;
  setText(b.pct, v + " %");
}

/* ---- the list ---------------------------------------------------------- */

const rows = new Map(); /* status_uri -> {li, ...parts} */

function listUrl(prefix, state, count) {
  let u = prefix + "/v1/status;_expand=1;_count=" + count;
  if (state) u += ";state=" + encodeURIComponent(state);
  return u;
}

function row(st) {
  let r = rows.get(st.status_uri);
  if (!r) {
    const id = statusId(st.status_uri);
    r = {
      link: h("a", {class: "mono", href: statusLink(st.status_uri)}, id),
      badge: h("span", {class: "badge"}),
      op: h("span", {class: "muted"}),
      resource: h("span", {class: "resource mono"}),
      bar: bar("Progress of " + id),
      message: h("p", {class: "newest"}),
      when: h("div", {class: "when muted"}),
    };
    r.li = h("li", {"data-status": st.status_uri},
      h("div", {class: "line"}, r.link, r.badge, r.op, r.resource), r.bar.el, r.message, r.when);
    rows.set(st.status_uri, r);
  }
  r.li.className = stateClasses(st);
  r.li.dataset.state = st.state;
  r.badge.className = "badge " + stateClasses(st);
  setText(r.badge, stateLabel(st));
  setText(r.op, st.operation || "");
  setText(r.resource, shortUri(st.uri));
  setBar(r.bar, st);
  setText(r.message, newest(st));
  const where = st.component ? st.component + " · " : "";
  setText(r.when, where + "created " + ago(st.ctime) + " · updated " + ago(st.mtime));
  r.when.title = "created " + when(st.ctime) + ", updated " + when(st.mtime);
  return r.li;
}

async function pollList(gen) {
  const loc = $("f-location").value;
  const state = $("f-state").value;
  const count = Number($("f-count").value) || 25;
  const chosen = prefixes.filter((p) => loc === "*" || p.prefix === loc);
  const errors = [];
  const answers = await Promise.all(chosen.map((p) =>
    getJSON(listUrl(p.prefix, state, count)).then((b) => b.statuses || [], (e) => {
      errors.push((p.prefix || "/") + ": " + e.message);
      return [];
    })));
  if (gen !== generation) return;
  const seen = new Set();
  const all = [];
  answers.forEach((list) => list.forEach((st, i) => {
    if (!st || typeof st !== "object" || seen.has(st.status_uri)) return;
    seen.add(st.status_uri);
    all.push({st, i});
  }));
  /* Newest first; each location's own order breaks ties. */
  all.sort((a, b) => (b.st.ctime || 0) - (a.st.ctime || 0) || a.i - b.i);
  const shown = all.slice(0, count).map((x) => x.st);
  const ul = $("status-list");
  const keep = new Set(shown.map((st) => st.status_uri));
  for (const [uri, r] of rows) if (!keep.has(uri)) {
    r.li.remove();
    rows.delete(uri);
  }
  shown.forEach((st, i) => {
    const li = row(st);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  $("list-empty").hidden = shown.length > 0 || errors.length > 0;
  $("list-error").hidden = errors.length === 0;
  setText($("list-error"), errors.length ? "Cannot list statuses of " + errors.join("; ") : "");
}

function scheduleList(gen) {
  clearTimeout(listTimer);
  listTimer = setTimeout(async () => {
    try {
      await pollList(gen);
    } finally {
      if (gen === generation) scheduleList(gen);
    }
  }, LIST_POLL_MS);
}

async function showList() {
  const gen = generation;
  $("view-list").hidden = false;
  $("view-status").hidden = true;
  document.title = "Gearbox dashboard";
  await pollList(gen).catch(() => {});
  if (gen === generation) scheduleList(gen);
}

/* ---- one status --------------------------------------------------------- */

const tree = new Map(); /* fetchable uri -> {st, error} of children */
let current = null;     /* the status shown */

function field(dl, name, value) {
  if (value === undefined || value === null || value === "") return;
  dl.append(h("dt", {}, name), h("dd", {}, value));
}

function renderFields(st) {
  const dl = $("st-fields");
  /* Rebuilt only when a field changed: focus stays on the parent's link. */
  const shape = JSON.stringify([st.operation, st.component, st.uri, st.code, st.ctime, st.mtime,
    st.ytime, st.failures, st.concurrency, st.parent_uri, st.status_uri, traceId(st)]);
  const updated = $("st-updated");
  if (dl.dataset.shape === shape) {
    if (updated) setText(updated, ago(st.mtime));
    return;
  }
  dl.dataset.shape = shape;
  dl.replaceChildren();
  field(dl, "Operation", st.operation);
  field(dl, "Component", st.component);
  field(dl, "Resource", st.uri ? h("span", {class: "mono"}, shortUri(st.uri)) : null);
  field(dl, "Code", st.code === undefined ? null : String(st.code));
  field(dl, "Created", when(st.ctime));
  field(dl, "Updated", st.mtime ? h("span", {}, when(st.mtime) + " (",
    h("span", {id: "st-updated"}, ago(st.mtime)), ")") : null);
  field(dl, "Runs at", st.ytime ? when(st.ytime) : null);
  field(dl, "Failures", st.failures ? String(st.failures) : null);
  field(dl, "Concurrency", st.concurrency ? String(st.concurrency) : null);
  field(dl, "Parent", st.parent_uri ? h("a", {href: statusLink(st.parent_uri), class: "mono"},
    statusId(st.parent_uri)) : null);
  field(dl, "Status URI", h("span", {class: "mono"}, st.status_uri));
  field(dl, "Trace", traceId(st) ? h("span", {class: "mono", id: "st-trace"}, traceId(st)) : null);
}

/* The W3C trace-id the status keeps (meta.trace_id; docs/gateway.md). */
function traceId(st) {
  const id = st.meta && st.meta.trace_id;
  return typeof id === "string" ? id : null;
}

function renderMessages(st) {
  const ol = $("st-messages");
  const msgs = st.messages || [];
  if (ol.children.length === msgs.length &&
      msgs.every((m, i) => ol.children[i].textContent === String(m))) return;
  ol.replaceChildren(...msgs.map((m) => h("li", {}, String(m))));
  if (!msgs.length) ol.append(h("li", {class: "muted"}, "none yet"));
}

function renderMeta(st) {
  const box = $("st-meta");
  const meta = st.meta || {};
  const keys = Object.keys(meta);
  const text = JSON.stringify(meta);
  if (box.dataset.shown === text) return;
  box.dataset.shown = text;
  if (!keys.length) {
    box.replaceChildren(h("p", {class: "muted"}, "none"));
    return;
  }
  const table = h("table", {}, h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Key"),
    h("th", {scope: "col"}, "Value"))));
  const body = h("tbody");
  for (const k of keys.sort())
    body.append(h("tr", {}, h("td", {class: "mono"}, k), h("td", {class: "mono"},
      typeof meta[k] === "string" ? meta[k] : JSON.stringify(meta[k]))));
  table.append(body);
  box.replaceChildren(table);
}

/* Fetches the children of `st` (and theirs), reusing those that ended. */
async function fetchChildren(st, depth, budget, visited) {
  const kids = st.children || [];
  await Promise.all(kids.map(async (uri) => {
    const key = fetchable(uri);
    if (visited.has(key) || budget.left <= 0 || depth > TREE_MAX_DEPTH) return;
    visited.add(key);
    budget.left--;
    let node = tree.get(key);
    const ended = node && node.st && FINAL_STATES.has(node.st.state) && node.st.progress >= 100;
    if (!ended) {
      try {
        node = {st: await getJSON(key)};
      } catch (e) {
        node = {error: e.message};
      }
      tree.set(key, node);
    }
    if (node.st) await fetchChildren(node.st, depth + 1, budget, visited);
  }));
}

function renderTree(st, depth, visited) {
  const items = [];
  for (const uri of st.children || []) {
    const key = fetchable(uri);
    const node = tree.get(key);
    if (visited.has(key) || !node) continue;
    visited.add(key);
    const id = statusId(uri);
    const link = h("a", {class: "mono", href: statusLink(uri)}, id);
    if (node.error) {
      items.push(h("li", {class: "node", "data-status": uri}, link, " ",
        h("span", {class: "error"}, "cannot be read here: " + node.error)));
      continue;
    }
    const c = node.st;
    const b = bar("Progress of " + id);
    setBar(b, c);
    const li = h("li", {class: "node " + stateClasses(c), "data-status": uri, "data-state": c.state},
      h("div", {class: "line"}, link, h("span", {class: "badge " + stateClasses(c)}, stateLabel(c)),
        h("span", {class: "muted"}, c.operation || ""), h("span", {class: "resource mono"}, shortUri(c.uri))),
      b.el, h("p", {class: "newest"}, newest(c)));
    if (depth < TREE_MAX_DEPTH && (c.children || []).length) {
      const sub = renderTree(c, depth + 1, visited);
      if (sub.length) li.append(h("ul", {}, ...sub));
    }
    items.push(li);
  }
  return items;
}

function renderStatus(st) {
  current = st;
  const id = statusId(st.status_uri);
  setText($("st-id"), id);
  document.title = id + " " + st.state + " · Gearbox";
  const badge = $("st-state");
  badge.className = "badge " + stateClasses(st);
  setText(badge, stateLabel(st));
  const v = Math.max(0, Math.min(100, Number(st.progress) || 0));
  $("st-progress").value = v;
  $("view-status").className = "panel " + stateClasses(st);
  setText($("st-pct"), v + " %");
  $("cancel-btn").hidden = UNCANCELLABLE.has(st.state);
  renderFields(st);
  renderMessages(st);
  renderMeta(st);
}

async function pollStatus(gen, uri) {
  let st;
  try {
    st = await getJSON(uri);
  } catch (e) {
    if (gen !== generation) return;
    $("st-error").hidden = false;
    setText($("st-error"), "Cannot read " + uri + ": " + e.message);
    return;
  }
  if (gen !== generation) return;
  $("st-error").hidden = true;
  renderStatus(st);
  await fetchChildren(st, 1, {left: TREE_MAX_NODES}, new Set());
  if (gen !== generation) return;
  /* Rebuilt only when something in it changed: focus stays on a link. */
  const shape = JSON.stringify(treeShape(st, 1, new Set()));
  const ul = $("st-children");
  if (ul.dataset.shape === shape) return;
  ul.dataset.shape = shape;
  const items = renderTree(st, 1, new Set());
  ul.replaceChildren(...items);
  if (!items.length) ul.append(h("li", {class: "muted"}, "none"));
}

/* What renderTree draws, as plain data. */
function treeShape(st, depth, visited) {
  return (st.children || []).map((uri) => {
    const key = fetchable(uri);
    const node = tree.get(key);
    if (visited.has(key) || !node) return null;
    visited.add(key);
    if (node.error) return [uri, node.error];
    const c = node.st;
    return [uri, c.state, c.code, c.progress, c.operation, c.uri, newest(c),
      depth < TREE_MAX_DEPTH ? treeShape(c, depth + 1, visited) : null];
  });
}

function scheduleStatus(gen, uri) {
  clearTimeout(statusTimer);
  statusTimer = setTimeout(async () => {
    try {
      await pollStatus(gen, uri);
    } finally {
      if (gen === generation) scheduleStatus(gen, uri);
    }
  }, STATUS_POLL_MS);
}

async function showStatus(uri) {
  const gen = generation;
  $("view-list").hidden = true;
  $("view-status").hidden = false;
  current = null;
  tree.clear();
  setText($("st-id"), statusId(uri));
  setText($("cancel-result"), "");
  $("cancel-btn").hidden = true;
  for (const id of ["st-fields", "st-messages", "st-children"]) {
    $(id).replaceChildren();
    delete $(id).dataset.shape;
  }
  $("st-meta").replaceChildren();
  delete $("st-meta").dataset.shown;
  await pollStatus(gen, uri);
  if (gen === generation) scheduleStatus(gen, uri);
}

/* The Cancel button: confirm in a dialog, then POST {"state": "CANCELLED"}. */
function setupCancel() {
  const dialog = $("cancel-dialog");
  $("cancel-btn").addEventListener("click", () => {
    if (!current) return;
    setText($("cancel-question"), "Cancel " + statusId(current.status_uri) + " (" +
      (current.operation || "") + " " + shortUri(current.uri) + ")? Its children are cancelled " +
      "too, and a completed job runs its compensation.");
    dialog.showModal();
    $("cancel-keep").focus();
  });
  $("cancel-keep").addEventListener("click", () => dialog.close());
  $("cancel-confirm").addEventListener("click", async () => {
    dialog.close();
    if (!current) return;
    const target = fetchable(current.status_uri);
    setText($("cancel-result"), "Cancelling…");
    try {
      const r = await fetch(target, {
        method: "POST", cache: "no-store",
        headers: {"Content-Type": "application/json", Accept: "application/json"},
        body: JSON.stringify({state: "CANCELLED"}),
      });
      const body = await r.json().catch(() => null);
      const result = $("cancel-result");
      if (r.status === 202 && body) {
        result.replaceChildren("Cancellation requested: ",
          h("a", {href: statusLink(body.status_uri), class: "mono"}, statusId(body.status_uri)),
          " follows it.");
      } else {
        const msg = body && body.messages ? body.messages[0] : r.status + " " + r.statusText;
        result.replaceChildren(h("span", {class: "error"}, "Not cancelled: " + msg));
      }
    } catch (e) {
      $("cancel-result").replaceChildren(h("span", {class: "error"}, "Not cancelled: " + e.message));
    }
    $("cancel-btn").focus();
  });
}

/* ---- metrics ----------------------------------------------------------- */

/* Prometheus text format -> [{name, labels, value}]. */
function parseMetrics(text) {
  const out = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    if (!raw || raw[0] === "#") continue;
    const m = line.exec(raw.trim());
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(label))
      labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    const v = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    out.push({name: m[1], labels, value: v});
  }
  return out;
}

function sum(samples, name) {
  let total = null;
  for (const s of samples) if (s.name === name && isFinite(s.value)) total = (total || 0) + s.value;
  return total;
}

/* name -> {label value -> summed value} */
function byLabel(samples, name, key) {
  const out = new Map();
  for (const s of samples)
    if (s.name === name && s.labels[key] !== undefined)
      out.set(s.labels[key], (out.get(s.labels[key]) || 0) + s.value);
  return out;
}

/* The charts: each a title and up to three series computed from a sample
 * and the one before it (counters as rates, gauges as they are). */
const CHARTS = [
  {title: "Requests/s", series: [{label: "requests", counter: "gearbox_http_requests_total"}]},
  {title: "Jobs/s", series: [
    {label: "accepted", counter: "gearbox_jobs_accepted_total"},
    {label: "completed", counter: "gearbox_jobs_completed_total"},
    {label: "failed", counter: "gearbox_jobs_failed_total"}]},
  {title: "Connections", series: [{label: "open", gauge: "gearbox_gateway_connections"}]},
  {title: "Suspended requests", series: [{label: "waiting", gauge: "gearbox_gateway_suspended_requests"}]},
];

const history = []; /* {t, values: [[...per series] per chart]} */
let previous = null; /* {t, samples} */

function sampleMetrics(samples, t) {
  const values = CHARTS.map((c) => c.series.map((s) => {
    if (s.gauge) return sum(samples, s.gauge);
    const now = sum(samples, s.counter);
    if (!previous || now === null) return null;
    const before = sum(previous.samples, s.counter);
    const dt = (t - previous.t) / 1000;
    if (before === null || dt <= 0) return null;
    const d = now >= before ? now - before : now; /* a restart resets counters */
    return d / dt;
  }));
  previous = {t, samples};
  history.push({t, values});
  while (history.length && history[0].t < t - METRICS_WINDOW_S * 1000) history.shift();
}

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

const SVG = "http://www.w3.org/2000/svg";

function chart(c, ci, now) {
  const W = 300, H = 80;
  /* From the first sample (or 10 minutes ago) to now: a page opened a
   * minute ago draws its minute across the whole width. */
  const t0 = Math.max(now - METRICS_WINDOW_S * 1000, history.length ? history[0].t : now);
  const span = Math.max(now - t0, 1);
  let max = 0;
  for (const p of history) for (const v of p.values[ci]) if (v !== null && v > max) max = v;
  const top = max > 0 ? max * 1.1 : 1;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  const caption = h("figcaption", {}, h("span", {class: "title"}, c.title));
  const spoken = [];
  c.series.forEach((s, si) => {
    const pts = [];
    for (const p of history) {
      const v = p.values[ci][si];
      if (v === null) continue;
      const x = ((p.t - t0) / span) * W;
      const y = H - (v / top) * (H - 4) - 2;
      pts.push(x.toFixed(1) + "," + y.toFixed(1));
    }
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts.join(" "));
    line.setAttribute("class", "k" + (si + 1));
    line.dataset.series = s.label;
    svg.append(line);
    const last = history.length ? history[history.length - 1].values[ci][si] : null;
    caption.append(h("span", {class: "k" + (si + 1)}, (c.series.length > 1 ? s.label + " " : "") + fmt(last)));
    spoken.push(s.label + " " + fmt(last));
  });
  caption.append(h("span", {class: "muted"}, "peak " + fmt(max)));
  const minutes = span / 60000;
  svg.setAttribute("aria-label", c.title + " over the last " +
    (minutes >= 1 ? Math.round(minutes) + " min" : Math.round(span / 1000) + " s") +
    ": now " + spoken.join(", ") + "; peak " + fmt(max));
  return h("figure", {class: "chart", "data-chart": c.title}, caption, svg);
}

function renderQueue(samples) {
  const jobs = byLabel(samples, "gearbox_gearmand_jobs", "function");
  const running = byLabel(samples, "gearbox_gearmand_running_jobs", "function");
  const workers = byLabel(samples, "gearbox_gearmand_workers", "function");
  const names = [...new Set([...jobs.keys(), ...running.keys(), ...workers.keys()])];
  names.sort((a, b) => (jobs.get(b) || 0) - (jobs.get(a) || 0) || a.localeCompare(b));
  const box = $("queue");
  if (!names.length) {
    box.replaceChildren(h("p", {class: "muted"}, "gearmand reports no functions."));
  } else {
    const tbody = h("tbody", {}, ...names.map((n) => h("tr", {"data-function": n},
      h("td", {class: "mono"}, n), h("td", {class: "n"}, fmt(jobs.get(n) || 0)),
      h("td", {class: "n"}, fmt(running.get(n) || 0)), h("td", {class: "n"}, fmt(workers.get(n) || 0)))));
    box.replaceChildren(h("div", {class: "queue"}, h("table", {},
      h("caption", {class: "visually-hidden"}, "Jobs, running jobs and workers per function"),
      h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Function"),
        h("th", {scope: "col", class: "n", title: "queued and running"}, "Jobs"),
        h("th", {scope: "col", class: "n"}, "Running"), h("th", {scope: "col", class: "n"}, "Workers"))),
      tbody)));
  }
  const states = byLabel(samples, "gearbox_statuses", "state");
  setText($("statuses-by-state"), states.size ? "Statuses: " +
    [...states].map(([s, n]) => s + " " + fmt(n)).join(" · ") : "");
}

function noMetrics(why) {
  const p = () => h("p", {class: "muted no-metrics"}, "No metrics: " + why);
  $("queue").replaceChildren(p());
  $("charts").replaceChildren(p());
  setText($("statuses-by-state"), "");
}

async function pollMetrics() {
  let delay = METRICS_POLL_MS;
  const path = info && info.metrics_path;
  if (!path) {
    noMetrics("this gateway serves them on its admin listener or not at all");
    return;
  }
  try {
    const r = await fetch(path, {cache: "no-store", headers: {Accept: "text/plain"}});
    if (!r.ok) {
      noMetrics(path + " answered " + r.status + (r.status === 404 ? " (not served by this gateway)" : ""));
      previous = null;
      delay = METRICS_OFF_POLL_MS;
    } else {
      const samples = parseMetrics(await r.text());
      const t = Date.now();
      sampleMetrics(samples, t);
      renderQueue(samples);
      $("charts").replaceChildren(...CHARTS.map((c, i) => chart(c, i, t)));
    }
  } catch (e) {
    noMetrics("cannot read " + path + " (" + e.message + ")");
    delay = METRICS_OFF_POLL_MS;
  }
  setTimeout(pollMetrics, delay);
}

/* ---- start ------------------------------------------------------------- */

function route() {
  generation++;
  clearTimeout(listTimer);
  clearTimeout(statusTimer);
  const hash = location.hash;
  if (hash.startsWith("#/status/")) {
    view = "status";
    showStatus(hash.slice("#/status".length));
  } else if (hash.startsWith("#/status?url=")) {
    view = "status";
    showStatus(decodeURIComponent(hash.slice("#/status?url=".length)));
  } else {
    view = "list";
    showList();
  }
}

async function start() {
  try {
    info = await getJSON("api/info");
  } catch (e) {
    setText($("gateway"), "cannot read api/info: " + e.message);
    info = {locations: [], metrics_path: "/metrics"};
  }
  const seen = new Map();
  for (const l of info.locations || []) if (!seen.has(l.prefix)) seen.set(l.prefix, l);
  prefixes = [...seen.values()];
  const select = $("f-location");
  for (const p of prefixes)
    select.append(h("option", {value: p.prefix}, (p.prefix || "/") + " (" + p.component + ")"));
  if (info.version)
    setText($("gateway"), "gateway " + info.version + " · " + prefixes.length + " location" +
      (prefixes.length === 1 ? "" : "s"));
  for (const id of ["f-location", "f-state", "f-count"])
    $(id).addEventListener("change", () => {
      generation++;
      showList();
    });
  setupCancel();
  window.addEventListener("hashchange", route);
  route();
  pollMetrics();
}

document.addEventListener("DOMContentLoaded", start);
