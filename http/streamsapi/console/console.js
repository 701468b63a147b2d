// streamledger console: ingestion status over the WebSocket status feed, stream search and a stream's history,
// all from the public API. Amounts stay decimal strings everywhere they are shown; the chart converts them to
// numbers only to place points.
"use strict";

const $ = (id) => document.getElementById(id);
let lastSafeLedger = 0;
let tipLedger = 0;

function apiKey() { return sessionStorage.getItem("streamledger.apiKey") || ""; }

// base64url without padding, of the UTF-8 bytes of s.
function base64url(s) {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() { $("error").hidden = true; }

async function api(path) {
  const headers = { Accept: "application/json" };
  if (apiKey()) headers["X-API-Key"] = apiKey();
  let resp;
  try {
    resp = await fetch(path, { headers });
  } catch (e) {
    throw new Error(`The server did not answer (${e.message}).`);
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = body && body.error;
    const e = new Error(err ? `${err.code}: ${err.message} (request ${err.requestId})` : `HTTP ${resp.status}`);
    e.status = resp.status;
    throw e;
  }
  return body;
}

function text(tag, content, attrs = {}) {
  const el = document.createElement(tag);
  if (content !== undefined) el.textContent = content;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// shortId shortens an address (G… or C…), or the contract of a stream id (C…:42), to its first and last four
// characters: readable in a table, with the whole value in the title and the copy button.
function shortId(v) {
  const [addr, rest] = String(v).split(":");
  const short = addr.length > 12 ? `${addr.slice(0, 4)}…${addr.slice(-4)}` : addr;
  return rest === undefined ? short : `${short}:${rest}`;
}

// idCell shows an id shortened, with a button that copies it whole.
function idCell(v, link) {
  const span = document.createElement("span");
  const label = link ? text("a", shortId(v), { href: link, title: v, class: "id" }) : text("span", shortId(v), { title: v, class: "id" });
  const copy = text("button", "copy", { type: "button", class: "copy", "aria-label": `Copy ${v}` });
  copy.addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(v).then(() => { copy.textContent = "copied"; }, () => { copy.textContent = "select it"; });
  });
  span.append(label, copy);
  return span;
}

// Status: what /health says, pushed over the WebSocket status feed; reconnects with backoff.
function showStatus(s) {
  const ix = s.indexer || {};
  $("st-status").textContent = `${s.status} (indexer ${ix.status})`;
  tipLedger = ix.tipLedger || 0;
  lastSafeLedger = ix.lastSafeLedger || 0;
  $("st-tip").textContent = ix.tipLedger ?? "–";
  $("st-safe").textContent = ix.lastSafeLedger ?? "–";
  $("st-lag").textContent = ix.lagLedgers === undefined ? "–" : `${ix.lagLedgers} ledgers, ${(ix.lagMs / 1000).toFixed(1)} s`;
  const r = ix.lastReorg;
  $("st-reorg").textContent = r ? `fork at ${r.fork}, depth ${r.depth}, ${r.revertedEvents} events reverted (${r.at})` : "none";
  const projs = s.projections || [];
  $("st-proj").textContent = projs.length ? projs.map((p) => `${p.name} ${p.lagEvents}`).join(", ") : "–";
}

function connectFeed(delay = 500) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // The key travels as a subprotocol, never in the URL (proxies and access logs keep URLs).
  const protocols = apiKey() ? ["streamledger.v1", `bearer.${base64url(apiKey())}`] : undefined;
  const ws = new WebSocket(`${proto}//${location.host}/ws/streams`, protocols);
  ws.onopen = () => {
    $("st-feed").textContent = "Live feed: connected";
    ws.send(JSON.stringify({ type: "subscribe", feed: "status" }));
    delay = 500;
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "status") showStatus(msg);
    if (msg.type === "service.degraded" && msg.status !== "ok") {
      $("st-status").textContent = `${msg.status} (${msg.indexer}${msg.reason ? ": " + msg.reason : ""})`;
    }
  };
  ws.onclose = () => {
    $("st-feed").textContent = `Live feed: disconnected, retrying in ${Math.round(delay / 1000)} s`;
    setTimeout(() => connectFeed(Math.min(delay * 2, 30000)), delay);
  };
}

// Search.
let nextCursor = null;
let lastQuery = "";

function renderResults(list, append) {
  const body = $("results").querySelector("tbody");
  if (!append) body.replaceChildren();
  for (const s of list) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.append(idCell(s.id, `#stream=${encodeURIComponent(s.id)}`));
    const rc = document.createElement("td");
    rc.append(idCell(s.recipient));
    tr.append(td, text("td", s.status), rc, text("td", s.depositAmount), text("td", s.withdrawnAmount));
    body.append(tr);
  }
  $("results").hidden = false;
}

async function search(event, append = false) {
  if (event) event.preventDefault();
  clearError();
  const form = new FormData($("search"));
  const id = (form.get("id") || "").trim();
  if (id && !append) {
    location.hash = `stream=${encodeURIComponent(id)}`;
    return;
  }
  const params = new URLSearchParams();
  for (const k of ["sender", "recipient", "status"]) {
    const v = (form.get(k) || "").trim();
    if (v) params.set(k, v);
  }
  params.set("limit", "20");
  if (append && nextCursor) params.set("cursor", nextCursor);
  lastQuery = params.toString();
  try {
    const page = await api(`/api/streams?${lastQuery}`);
    renderResults(page.data, append);
    nextCursor = page.page.nextCursor;
    $("more").hidden = !page.page.hasMore;
  } catch (e) {
    showError(`Search failed: ${e.message}`);
  }
}

// Stream page.
async function allEvents(id) {
  const out = [];
  let cursor = "";
  for (;;) {
    const page = await api(`/api/streams/${encodeURIComponent(id)}/events?limit=100${cursor ? "&cursor=" + encodeURIComponent(cursor) : ""}`);
    out.push(...page.data);
    if (!page.page.hasMore) return out;
    cursor = page.page.nextCursor;
  }
}

function renderSummary(s) {
  const dl = $("summary");
  dl.replaceChildren();
  const ids = [["Contract", s.contractId], ["Sender", s.sender], ["Recipient", s.recipient]];
  const rows = [["Status", s.status], ["Deposit", s.depositAmount],
    ["Rate per second", s.ratePerSecond], ["Withdrawn", s.withdrawnAmount], ["Accrued now", s.accruedAmount],
    ["Withdrawable now", s.withdrawableAmount], ["Created at ledger", s.createdLedger]];
  for (const [k, v] of ids) {
    const div = document.createElement("div");
    const dd = document.createElement("dd");
    dd.append(idCell(v));
    div.append(text("dt", k), dd);
    dl.append(div);
  }
  for (const [k, v] of rows) {
    const div = document.createElement("div");
    div.append(text("dt", k), text("dd", String(v)));
    dl.append(div);
  }
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// renderChart draws step lines of deposit, accrued and withdrawn, one point per ledger.
function renderChart(points) {
  const box = $("chart");
  box.replaceChildren();
  if (points.length === 0) {
    box.append(text("p", "No events to chart."));
    return;
  }
  const W = 800, H = 300, L = 70, R = 20, T = 20, B = 40;
  const times = points.map((p) => Date.parse(p.asOf));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const values = points.flatMap((p) => [p.deposit, p.accrued, p.withdrawn]);
  const top = values.reduce((a, b) => (Number(b) > Number(a) ? b : a), "0");
  const max = Math.max(Number(top), 1e-7);
  const x = (t) => L + (t1 === t0 ? (W - L - R) / 2 : ((t - t0) / (t1 - t0)) * (W - L - R));
  const y = (v) => T + (1 - Number(v) / max) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Chart of ${points.length} points` });
  root.append(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }));
  root.append(svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
  // Amount axis: 0, half and the top, labelled (the top exactly, as the API gives it).
  for (const [v, shown] of [[0, "0"], [max / 2, (max / 2).toFixed(2)], [max, top]]) {
    const ly = y(v);
    root.append(svg("line", { x1: L - 4, y1: ly, x2: W - R, y2: ly, stroke: "#e3e3e3" }));
    const label = svg("text", { x: L - 6, y: ly + 4, "font-size": 11, "text-anchor": "end" });
    label.textContent = shown;
    root.append(label);
  }
  // Time axis: the close times of four ledgers' worth of span, in UTC.
  const fmt = (t) => new Date(t).toISOString().slice(5, 16).replace("T", " ");
  const ticks = t1 === t0 ? [t0] : [0, 1, 2, 3].map((k) => t0 + ((t1 - t0) * k) / 3);
  ticks.forEach((t, k) => {
    const tx = x(t);
    root.append(svg("line", { x1: tx, y1: H - B, x2: tx, y2: H - B + 4, stroke: "#999" }));
    const anchor = ticks.length > 1 && k === 0 ? "start" : ticks.length > 1 && k === ticks.length - 1 ? "end" : "middle";
    const label = svg("text", { x: tx, y: H - B + 16, "font-size": 11, "text-anchor": anchor, "data-time-tick": "" });
    label.textContent = fmt(t);
    root.append(label);
  });
  const axis = svg("text", { x: W - R, y: H - 2, "font-size": 11, "text-anchor": "end" });
  axis.textContent = "ledger close time (UTC)";
  root.append(axis);
  const series = [["deposit", "#0b4f9c"], ["accrued", "#8a4b00"], ["withdrawn", "#176b2c"]];
  for (const [key, color] of series) {
    let d = "";
    points.forEach((p, i) => {
      const px = x(times[i]), py = y(p[key]);
      d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
    });
    root.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
  }
  points.forEach((p, i) => {
    const g = svg("g", { "data-point": p.ledger, tabindex: 0, role: "img",
      "aria-label": `Ledger ${p.ledger}, ${p.asOf}: deposit ${p.deposit}, accrued ${p.accrued}, withdrawn ${p.withdrawn}` });
    const title = svg("title", {});
    title.textContent = `Ledger ${p.ledger} (${p.asOf})\ndeposit ${p.deposit}\naccrued ${p.accrued}\nwithdrawn ${p.withdrawn}`;
    g.append(title);
    for (const [key, color] of series) g.append(svg("circle", { cx: x(times[i]), cy: y(p[key]), r: 4, fill: color }));
    root.append(g);
  });
  box.append(root);
}

function renderTimeline(events) {
  const ol = $("timeline");
  ol.replaceChildren();
  const byId = new Map(events.map((e) => [e.eventId, e]));
  for (const e of events) {
    const li = document.createElement("li");
    li.dataset.eventId = e.eventId;
    const where = e.ledger ? `ledger ${e.ledger}` : "";
    const tx = e.txHash ? ` tx ${e.txHash.slice(0, 12)}…` : "";
    const line = `${where} ${e.type}${tx}`.trim();
    if (e.reverted) {
      li.append(text("del", line));
      const reversal = byId.get(e.revertedBy);
      const fork = reversal && reversal.event ? reversal.event.fork : undefined;
      li.append(text("span", ` — reverted by a reorg${fork !== undefined ? ` at fork ledger ${fork}` : ""} (reversal ${e.revertedBy})`));
      li.classList.add("reverted");
    } else if (e.type === "EventReverted") {
      li.append(text("span", `reversal of ${e.event.revertedType} ${e.event.revertedEventId} (reorg, fork at ledger ${e.event.fork})`));
    } else {
      li.append(text("span", line));
      if (e.ledger) {
        const final = e.ledger <= lastSafeLedger;
        li.append(text("span", final ? " · final" : " · not final yet", { class: final ? "final" : "pending" }));
      }
    }
    ol.append(li);
  }
}

let asOfTimer = null;

let streamEvents = [];

// explain says why the state is what it is: the accrual rule with this stream's numbers at that moment, and the
// events that led there.
function explain(s) {
  const t = Math.floor(Date.parse(s.asOf) / 1000);
  const cancelled = s.cancelledAt !== null && s.cancelledAt !== undefined;
  const until = cancelled ? Math.min(s.cancelledAt, s.endTime) : Math.min(t, s.endTime);
  let formula;
  if (t < s.cliffTime) {
    formula = `at ${s.asOf} the cliff (${new Date(s.cliffTime * 1000).toISOString()}) is ahead: accrued = 0`;
  } else {
    const why = cancelled ? `cancelled at ${s.cancelledAt}: accrual stops there` : `min(t, end) = min(${t}, ${s.endTime})`;
    formula = `accrued = min(checkpointed + (${cancelled ? "cancelledAt" : "min(t, end)"} − checkpointedAt) × rate, deposit)` +
      ` = min(${s.checkpointedAmount} + (${until} − ${s.checkpointedAt}) × ${s.ratePerSecond}, ${s.depositAmount})` +
      ` = ${s.accruedAmount}   [${why}]`;
  }
  $("why-formula").textContent = `${formula};  withdrawable = accrued − withdrawn = ${s.accruedAmount} − ${s.withdrawnAmount} = ${s.withdrawableAmount}`;
  const led = streamEvents.filter((e) => e.ledger && !e.reverted && e.type !== "EventReverted" && e.ledger <= s.updatedLedger);
  $("why-events-title").textContent = `The ${led.length} events that made this state (up to ledger ${s.updatedLedger}), the latest last:`;
  const ol = $("why-events");
  ol.replaceChildren();
  for (const e of led.slice(-6)) ol.append(text("li", `ledger ${e.ledger}: ${e.type}`));
}

async function showAsOf(id, ledger) {
  $("asof-value").textContent = ledger;
  await showState(`/api/streams/${encodeURIComponent(id)}?asOfLedger=${ledger}`, `at ledger ${ledger}`);
}

async function showState(path, when) {
  try {
    const s = (await api(path)).data;
    $("asof-out").textContent = `Withdrawable ${s.withdrawableAmount} · accrued ${s.accruedAmount} · withdrawn ${s.withdrawnAmount} · ${s.status} (as of ${s.asOf})`;
    explain(s);
  } catch (e) {
    $("asof-out").textContent = e.status === 404 ? `The stream did not exist ${when}.` : `Could not compute: ${e.message}`;
    $("why-formula").textContent = "";
    $("why-events").replaceChildren();
    $("why-events-title").textContent = "";
  }
}

async function openStream(id) {
  clearError();
  $("stream").hidden = false;
  $("stream-title").textContent = `Stream ${id}`;
  $("chart").replaceChildren(text("p", "Loading…"));
  try {
    const [current, events] = await Promise.all([api(`/api/streams/${encodeURIComponent(id)}`), allEvents(id)]);
    const s = current.data;
    $("stream-title").textContent = `Stream ${shortId(s.id)}`;
    renderSummary(s);
    renderTimeline(events);
    streamEvents = events;
    const ledgers = [...new Set(events.filter((e) => e.ledger && !e.reverted).map((e) => e.ledger))].sort((a, b) => a - b);
    const points = await Promise.all(ledgers.map(async (l) => {
      const v = (await api(`/api/streams/${encodeURIComponent(s.id)}?asOfLedger=${l}`)).data;
      return { ledger: l, asOf: v.asOf, deposit: v.depositAmount, accrued: v.accruedAmount, withdrawn: v.withdrawnAmount };
    }));
    renderChart(points);
    const slider = $("asof-ledger");
    slider.min = ledgers.length ? ledgers[0] : s.createdLedger;
    slider.max = Math.max(tipLedger, ledgers.length ? ledgers[ledgers.length - 1] : s.createdLedger);
    slider.value = slider.max;
    slider.oninput = () => {
      clearTimeout(asOfTimer);
      asOfTimer = setTimeout(() => showAsOf(s.id, slider.value), 150);
    };
    await showAsOf(s.id, slider.value);
    $("asof-date-form").onsubmit = (ev) => {
      ev.preventDefault();
      const v = $("asof-date").value;
      if (!v) return;
      const iso = (v.length === 16 ? v + ":00" : v) + "Z";
      showState(`/api/streams/${encodeURIComponent(s.id)}?asOf=${encodeURIComponent(iso)}`, `on ${iso}`);
    };
    const exportPath = `/api/audit/export?format=csv&streamId=${encodeURIComponent(s.id)}`;
    $("export-link").href = exportPath;
    $("export").onclick = () => download(exportPath, `audit-${s.id.replace(":", "-")}.csv`);
  } catch (e) {
    $("chart").replaceChildren();
    showError(`Could not load stream ${id}: ${e.message}`);
  }
}

async function download(path, name) {
  clearError();
  const headers = apiKey() ? { "X-API-Key": apiKey() } : {};
  const resp = await fetch(path, { headers }).catch((e) => ({ ok: false, statusText: e.message }));
  if (!resp.ok) {
    const body = resp.json ? await resp.json().catch(() => null) : null;
    showError(`Export failed: ${body && body.error ? body.error.code + ": " + body.error.message : resp.statusText} (the export needs a key with audit:read)`);
    return;
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = text("a", "", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

function route() {
  const m = location.hash.match(/^#stream=(.+)$/);
  if (m) openStream(decodeURIComponent(m[1]));
}

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = apiKey();
  $("api-key").addEventListener("change", (e) => sessionStorage.setItem("streamledger.apiKey", e.target.value.trim()));
  $("search").addEventListener("submit", (e) => search(e));
  $("more").addEventListener("click", () => search(null, true));
  window.addEventListener("hashchange", route);
  connectFeed();
  api("/health").then(showStatus).catch((e) => showError(`Health check failed: ${e.message}`));
  search();
  route();
});
