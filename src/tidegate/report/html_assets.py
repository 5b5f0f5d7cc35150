"""The inline stylesheet and script of the HTML scan report (`tidegate.report.html`).

Both are plain constants so the report stays one self-contained file and nothing has to ship as package data::

    f"<style>{STYLE}</style>" ... f"<script>{SCRIPT}</script>"

The page's Content-Security-Policy allows exactly these two by hash (`csp_hash`), so an injected ``<script>``
would not run even if escaping ever failed, and no resource can be fetched from anywhere.

The script only enhances a page that is complete without it: it sorts and filters the server-rendered rows,
re-counts the embedded JSON to cross-check the server-side numbers (``data-consistent`` on ``<html>``), restores
filter state from the URL fragment (``#sev=CRITICAL,HIGH&q=openssl&sort=cvss:desc``) and marks
``<html data-ready="true">`` when done; uncaught errors are counted in ``data-errors``.
"""

from __future__ import annotations

import base64
import hashlib


def csp_hash(text: str) -> str:
    """The CSP source expression (``'sha256-…'``) that allows an inline element whose content is `text`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


STYLE = """
:root { --critical: #9c1c1c; --high: #d9480f; --medium: #c99400; --low: #1c6bb0; --unknown: #6b6b6b;
        --pass: #2b8a3e; --fail: #c92a2a; --muted: #5c5f66; --line: #dee2e6; --bg-alt: #f8f9fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #212529; }
header.top { background: #1b2838; color: #fff; padding: 16px 24px; }
header.top h1 { margin: 0 0 6px; font-size: 20px; word-break: break-all; }
header.top dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
header.top dt { color: #adb5bd; }
header.top dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
main { padding: 8px 24px 32px; max-width: 1400px; }
section { margin-top: 24px; }
h2 { font-size: 17px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
.verdict { display: inline-block; padding: 6px 14px; border-radius: 4px; font-weight: 700; color: #fff; }
.verdict-pass { background: var(--pass); } .verdict-fail { background: var(--fail); }
.verdict-none { background: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.card .n { display: block; font-size: 22px; font-weight: 700; }
.sev { display: inline-block; min-width: 78px; padding: 1px 6px; border-radius: 3px; color: #fff;
       font-size: 11.5px; font-weight: 700; text-align: center; }
.sev-CRITICAL { background: var(--critical); } .sev-HIGH { background: var(--high); }
.sev-MEDIUM { background: var(--medium); } .sev-LOW { background: var(--low); }
.sev-UNKNOWN { background: var(--unknown); }
.bar-CRITICAL { fill: var(--critical); } .bar-HIGH { fill: var(--high); } .bar-MEDIUM { fill: var(--medium); }
.bar-LOW { fill: var(--low); } .bar-UNKNOWN { fill: var(--unknown); }
svg.chart text { font: 12px system-ui, sans-serif; fill: #212529; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
td { word-break: break-word; }
tbody tr:nth-child(even) { background: var(--bg-alt); }
th button { font: inherit; font-weight: 700; background: none; border: 0; padding: 0; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin: 8px 0; }
.filters input[type=search] { padding: 4px 8px; min-width: 260px; }
details.layer { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; padding: 6px 12px; }
details.layer summary { cursor: pointer; }
details.layer .step { display: block; white-space: pre-wrap; word-break: break-all; margin: 4px 0; }
.status { font-weight: 700; }
.status-pass { color: var(--pass); } .status-fail { color: var(--fail); }
.status-not-checked, .status-not-evaluated { color: var(--muted); }
footer { color: var(--muted); padding: 12px 24px; border-top: 1px solid var(--line); }
@media print { .filters { display: none; } details.layer { break-inside: avoid; } }
"""
"""The page stylesheet (no external fonts, no ``url()``)."""

SCRIPT = """
"use strict";
(function () {
  var root = document.documentElement;
  root.setAttribute("data-errors", "0");
  window.addEventListener("error", function () {
    root.setAttribute("data-errors", String(Number(root.getAttribute("data-errors")) + 1));
  });
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var data = JSON.parse(document.getElementById("tidegate-data").textContent);
  var report = data.report;

  // (1) Re-count from the embedded JSON and compare with the numbers rendered on the server.
  var counts = { total: report.results.length, suppressed: report.suppressed.length,
                 secrets: report.secrets.filter(function (s) { return s.suppression === null; }).length,
                 misconfigurations: report.misconfigurations.filter(function (m) {
                   return m.suppression === null; }).length };
  ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"].forEach(function (s) { counts[s] = 0; });
  var bump = function (k) { counts[k] = (counts[k] || 0) + 1; };
  report.results.forEach(function (r) {
    counts[r.severity] += 1;
    bump("layer:" + (r.layer ? r.layer.index : "none") + ":vulns");
  });
  report.secrets.forEach(function (s) {
    if (s.suppression === null) { bump("layer:" + (s.location ? s.location.layerIndex : "none") + ":secrets"); }
  });
  data.layers.forEach(function (l) { counts["layer:" + l.index + ":packages"] = l.packages.length; });
  var consistent = true;
  each(document.querySelectorAll("[data-count]"), function (el) {
    var key = el.getAttribute("data-count");
    var want = counts[key] === undefined && key.indexOf("layer:") === 0 ? 0 : counts[key];
    el.setAttribute("data-json-value", String(want));
    if (String(want) !== el.getAttribute("data-value")) { consistent = false; }
  });
  root.setAttribute("data-consistent", String(consistent));

  // (2) Sortable tables: every <th data-key> holds a button; cells may carry a data-v sort value.
  function value(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    return numeric ? (v === "" ? -1 : Number(v)) : v.toLowerCase();
  }
  function sortTable(table, key, dir) {
    var heads = table.tHead.rows[0].cells, col = -1;
    each(heads, function (h, i) { h.removeAttribute("aria-sort"); if (h.getAttribute("data-key") === key) { col = i; } });
    if (col < 0) { return; }
    var numeric = heads[col].getAttribute("data-type") === "num";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, col, numeric), y = value(b, col, numeric);
      var c = x < y ? -1 : (x > y ? 1 : 0);
      return dir === "asc" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    heads[col].setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
    table.setAttribute("data-sort", key + ":" + dir);
  }

  // (3) Filters: severity checkboxes and a text box over the rows of one table.
  function applyFilter(box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    var sevs = [];
    each(box.querySelectorAll("input[name=sev]:checked"), function (c) { sevs.push(c.value); });
    var q = box.querySelector("input[type=search]").value.trim().toLowerCase();
    var shown = 0, rows = table.tBodies[0].rows;
    each(rows, function (r) {
      var ok = sevs.indexOf(r.getAttribute("data-severity")) >= 0 &&
               (q === "" || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    table.setAttribute("data-shown", String(shown));
    box.querySelector("output").textContent = shown + " of " + rows.length + " shown";
  }

  // (4) State in the URL fragment, so a filtered view can be linked: #sev=HIGH,CRITICAL&q=ssl&sort=cvss:desc
  function readHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { out[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1)); }
    });
    return out;
  }
  function writeHash(box, table) {
    var sevs = [];
    each(box.querySelectorAll("input[name=sev]:checked"), function (c) { sevs.push(c.value); });
    var parts = ["sev=" + encodeURIComponent(sevs.join(","))];
    var q = box.querySelector("input[type=search]").value;
    if (q) { parts.push("q=" + encodeURIComponent(q)); }
    if (table.getAttribute("data-sort")) { parts.push("sort=" + encodeURIComponent(table.getAttribute("data-sort"))); }
    history.replaceState(null, "", "#" + parts.join("&"));
  }

  each(document.querySelectorAll("table.sortable"), function (table) {
    each(table.tHead.rows[0].cells, function (h) {
      var b = h.querySelector("button");
      if (!b) { return; }
      b.addEventListener("click", function () {
        var dir = h.getAttribute("aria-sort") === "ascending" ? "desc" : "asc";
        sortTable(table, h.getAttribute("data-key"), dir);
        var box = document.querySelector(".filters[data-table='" + table.id + "']");
        if (box && box.hasAttribute("data-primary")) { writeHash(box, table); }
      });
    });
  });
  var state = readHash();
  each(document.querySelectorAll(".filters"), function (box) {
    var table = document.getElementById(box.getAttribute("data-table"));
    if (box.hasAttribute("data-primary")) {
      if (state.sev !== undefined) {
        var wanted = state.sev.split(",");
        each(box.querySelectorAll("input[name=sev]"), function (c) { c.checked = wanted.indexOf(c.value) >= 0; });
      }
      if (state.q !== undefined) { box.querySelector("input[type=search]").value = state.q; }
      if (state.sort) { var kd = state.sort.split(":"); sortTable(table, kd[0], kd[1] === "desc" ? "desc" : "asc"); }
    }
    var changed = function () { applyFilter(box); if (box.hasAttribute("data-primary")) { writeHash(box, table); } };
    box.addEventListener("input", changed);
    box.addEventListener("change", changed);
    box.hidden = false;
    applyFilter(box);
  });
  root.setAttribute("data-ready", "true");
})();
"""
"""The page script: vanilla JS, no libraries, no network."""
