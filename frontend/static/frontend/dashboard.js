// Project dashboard: redraws the figures from the page-data JSON every 10 s and polls the
// jobs API every 2 s while a job is queued or running (falling back to the page data).
(() => {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let jobsTimer = null;

  function el(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  let lastPoints = null;

  function drawRate(points) {
    lastPoints = points;
    // Drawn at the holder's own width so the labels keep their size on a phone.
    const holder = $("rate-chart");
    const width = Math.max(280, Math.round(holder.clientWidth || 720)), height = 180, left = 34, bottom = 22, top = 8;
    const peak = Math.max(1, ...points.map((p) => p.votes));
    const step = (width - left) / points.length;
    const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", "aria-hidden": "true" });
    const plotH = height - bottom - top;
    svg.appendChild(el("line", { x1: left, y1: top + plotH, x2: width, y2: top + plotH, stroke: "#8a93a5" }));
    svg.appendChild(el("text", { x: left - 4, y: top + 10, "text-anchor": "end" }, String(peak)));
    svg.appendChild(el("text", { x: left - 4, y: top + plotH, "text-anchor": "end" }, "0"));
    points.forEach((p, i) => {
      const h = Math.round((plotH * p.votes) / peak);
      const bar = el("rect", { x: left + i * step + 1, y: top + plotH - h, width: Math.max(1, step - 2), height: h, fill: "#1f5fbf" });
      bar.appendChild(el("title", {}, `${p.hour.slice(11, 16)} UTC: ${p.votes} ${p.votes === 1 ? "vote" : "votes"}`));
      svg.appendChild(bar);
      if (i % (width < 500 ? 6 : 4) === 0) svg.appendChild(el("text", { x: left + i * step + step / 2, y: height - 6, "text-anchor": "middle" }, p.hour.slice(11, 16)));
    });
    holder.replaceChildren(svg);
    const total = points.reduce((a, p) => a + p.votes, 0);
    holder.setAttribute("aria-label", `Votes per hour over the last 24 hours: ${total} in all, at most ${peak} in one hour.`);
  }

  function cell(text, numeric) {
    const td = document.createElement("td");
    if (numeric) td.className = "num";
    td.textContent = text;
    return td;
  }

  function drawAnnotators(rows) {
    const body = $("annotators").tBodies[0];
    if (!rows.length) return;
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.append(
        cell(r.username), cell(String(r.votes), true), cell(String(r.counted), true),
        cell(r.gold_accuracy === null ? "–" : `${Math.round(r.gold_accuracy * 100)}% of ${r.gold_seen}`, true),
        cell(r.median_time_ms === null ? "–" : `${Math.round(r.median_time_ms)} ms`, true),
        cell(r.accuracy === null || r.accuracy === undefined ? "–" : Math.round(r.accuracy * 100) + "%" + (r.kept === false ? " (filtered)" : ""), true),
      );
      return tr;
    }));
  }

  function drawJobs(jobs) {
    const body = $("jobs").tBodies[0];
    if (!jobs.length) return;
    body.replaceChildren(...jobs.map((j) => {
      const tr = document.createElement("tr");
      tr.dataset.job = j.id;
      const progress = document.createElement("td");
      const bar = document.createElement("progress");
      bar.max = 1; bar.value = j.progress; bar.setAttribute("aria-label", `job ${j.id} progress`);
      progress.append(bar, ` ${Math.round(j.progress * 100)}%`);
      tr.append(cell(String(j.id)), cell(j.kind), cell(j.status), progress, cell(j.message || j.error || ""));
      return tr;
    }));
    const active = jobs.some((j) => j.status === "queued" || j.status === "running");
    clearTimeout(jobsTimer);
    if (active) jobsTimer = setTimeout(pollJobs, 2000);
  }

  function draw(stats) {
    $("votes-collected").textContent = stats.votes.collected;
    $("votes-wanted").textContent = stats.votes.wanted;
    const bar = $("votes-bar");
    bar.setAttribute("aria-valuemax", stats.votes.wanted);
    bar.setAttribute("aria-valuenow", stats.votes.collected);
    bar.firstElementChild.style.width = `${stats.votes.wanted ? (100 * stats.votes.collected) / stats.votes.wanted : 0}%`;
    $("annotators-active").textContent = stats.annotators_active;
    for (const [status, n] of Object.entries(stats.images)) {
      const td = document.querySelector(`[data-status="${status}"]`);
      if (td) td.textContent = n;
    }
    drawRate(stats.votes_per_hour);
    drawAnnotators(stats.annotators);
    drawJobs(stats.jobs);
    $("updated").textContent = `Updated ${stats.generated_at.slice(0, 19).replace("T", " ")} UTC`;
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  }

  async function refresh() {
    try { draw(await getJSON(root.dataset.url)); } catch (e) { /* keep the last figures; try again */ }
    setTimeout(refresh, 10000);
  }

  async function pollJobs() {
    try {
      const data = await getJSON(root.dataset.jobsUrl);
      drawJobs(Array.isArray(data) ? data : data.results || []);
    } catch (e) {
      try { drawJobs((await getJSON(root.dataset.url)).jobs); } catch (e2) { jobsTimer = setTimeout(pollJobs, 5000); }
    }
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (lastPoints) drawRate(lastPoints); }, 150);
  });

  const initial = JSON.parse($("dashboard-initial").textContent);
  if (initial) draw(initial);
  setTimeout(refresh, 10000);
})();
