// The escrow pages of the console: a list of escrows, and one escrow's state, investors and funding over time,
// read from the API (/api/escrows). No framework, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);

function apiKey() { return sessionStorage.getItem("streamledger.apiKey") || ""; }

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

async function api(path) {
  const headers = {};
  if (apiKey()) headers.Authorization = "Bearer " + apiKey();
  const resp = await fetch(path, { headers });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error((body.error && body.error.message) || resp.statusText);
  return body;
}

function cell(tr, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.appendChild(content); else td.textContent = content;
  tr.appendChild(td);
}

function shortId(v) { return v.length > 14 ? v.slice(0, 6) + "…" + v.slice(-6) : v; }

async function list(event) {
  if (event) event.preventDefault();
  $("error").hidden = true;
  const q = new URLSearchParams({ limit: "100" });
  if ($("q-status").value) q.set("status", $("q-status").value);
  if ($("q-investor").value.trim()) q.set("investor", $("q-investor").value.trim());
  try {
    const body = await api("/api/escrows?" + q);
    const tbody = $("escrows").querySelector("tbody");
    tbody.replaceChildren();
    for (const e of body.data) {
      const tr = document.createElement("tr");
      const a = document.createElement("a");
      a.href = "#escrow=" + encodeURIComponent(e.id);
      a.textContent = e.id;
      cell(tr, a);
      cell(tr, e.status);
      cell(tr, e.fundedAmount);
      cell(tr, e.fundingTarget);
      cell(tr, e.fundingRatio);
      tbody.appendChild(tr);
    }
    $("escrows").hidden = false;
  } catch (e) {
    showError("Listing escrows failed: " + e.message);
  }
}

function svg(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// The funded total after each standing funding or unfunding, from the escrow's history.
function fundingPoints(history) {
  const points = [];
  for (const ev of history) {
    if (ev.reverted) continue;
    if (ev.type === "EscrowFunded") points.push({ ledger: ev.ledger, total: BigInt(ev.event.fundedAmount) });
    if (ev.type === "EscrowUnfunded") points.push({ ledger: ev.ledger, total: BigInt(ev.event.newFundedAmount) });
  }
  return points;
}

function renderChart(points, target) {
  const box = $("chart");
  box.replaceChildren();
  if (points.length === 0) { box.textContent = "No funding yet."; return; }
  const w = 640, h = 200, pad = 30;
  const first = points[0].ledger, last = Math.max(points[points.length - 1].ledger, first + 1);
  let top = BigInt(target);
  for (const p of points) if (p.total > top) top = p.total;
  if (top === 0n) top = 1n;
  const x = (l) => pad + ((l - first) / (last - first)) * (w - 2 * pad);
  const y = (v) => h - pad - Number((v * 1000n) / top) / 1000 * (h - 2 * pad);
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": "Funded total by ledger" });
  chart.appendChild(svg("line", { x1: pad, x2: w - pad, y1: y(BigInt(target)), y2: y(BigInt(target)), class: "target",
    stroke: "#a33", "stroke-dasharray": "6 4" }));
  let path = "";
  points.forEach((p, i) => { path += (i ? " L" : "M") + x(p.ledger).toFixed(1) + " " + y(p.total).toFixed(1); });
  chart.appendChild(svg("path", { d: path, class: "funded", fill: "none", stroke: "#0b5394", "stroke-width": 2 }));
  for (const p of points) {
    const dot = svg("circle", { cx: x(p.ledger), cy: y(p.total), r: 3, tabindex: 0, class: "point" });
    const title = svg("title", {});
    title.textContent = `ledger ${p.ledger}: ${p.total} base units funded`;
    dot.appendChild(title);
    chart.appendChild(dot);
  }
  box.appendChild(chart);
}

async function openEscrow(id) {
  $("error").hidden = true;
  try {
    const [one, history] = await Promise.all([api("/api/escrows/" + encodeURIComponent(id)),
      api("/api/escrows/" + encodeURIComponent(id) + "/events?limit=100")]);
    const e = one.data;
    $("escrow-title").textContent = "Escrow " + e.id;
    const dl = $("summary");
    dl.replaceChildren();
    for (const [k, v] of [["Contract", e.contractId], ["Status", e.status], ["Funded", e.fundedAmount], ["Target", e.fundingTarget],
      ["Funding ratio", e.fundingRatio], ["Yield (bps)", String(e.yieldBps)], ["Maturity", new Date(e.maturity * 1000).toISOString()],
      ["Principal at close", e.principalAtClose], ["Settle pool", e.settlePool], ["Paid out", e.paidOut], ["Refunded", e.refunded],
      ["Legal hold", e.legalHold ? "on" : "off"], ["Anomalies", String(e.anomalies.length)]]) {
      const div = document.createElement("div");
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v; dd.dataset.field = k;
      div.append(dt, dd);
      dl.appendChild(div);
    }
    const tbody = $("investors").querySelector("tbody");
    tbody.replaceChildren();
    for (const p of e.investors) {
      const tr = document.createElement("tr");
      const code = document.createElement("code");
      code.textContent = shortId(p.investor);
      code.title = p.investor;
      cell(tr, code);
      cell(tr, p.contribution);
      cell(tr, String(p.effectiveYieldBps));
      cell(tr, p.claimNotBefore ? new Date(p.claimNotBefore * 1000).toISOString() : "–");
      cell(tr, p.claimed ? "yes" : "no");
      cell(tr, p.payout);
      cell(tr, p.refunded ? p.refundAmount : "–");
      tbody.appendChild(tr);
    }
    renderChart(fundingPoints(history.data), e.fundingTargetRaw);
    $("escrow").hidden = false;
  } catch (err) {
    showError("Escrow " + id + ": " + err.message);
  }
}

function route() {
  const m = location.hash.match(/^#escrow=(.+)$/);
  if (m) openEscrow(decodeURIComponent(m[1]));
}

document.addEventListener("DOMContentLoaded", () => {
  $("api-key").value = apiKey();
  $("api-key").addEventListener("change", () => sessionStorage.setItem("streamledger.apiKey", $("api-key").value));
  $("filter").addEventListener("submit", list);
  window.addEventListener("hashchange", route);
  list();
  route();
});
