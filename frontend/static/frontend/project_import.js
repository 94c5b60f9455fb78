// Import page: uploads photos, zips or a folder (or sends a URL list) to the import API with
// an upload bar, follows the import job, then lists its report file by file and follows the
// face detection that the import queued on the worker.
(() => {
  "use strict";
  const app = document.getElementById("import-app");
  if (!app) return;
  const $ = (id) => document.getElementById(id);
  const ACTIVE = ["queued", "running"];
  const IMPORTABLE = /\.(jpe?g|png|webp|zip)$/i;

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function fail(text) {
    $("import-error").textContent = text;
    $("import-error").hidden = false;
    $("import-start").disabled = false;
  }

  function errorText(status, body) {
    if (body && body.error) {
      const details = body.error.details;
      const first = details && typeof details === "object" ? Object.values(details).flat()[0] : "";
      return `${body.error.message}${first && typeof first === "string" ? " " + first : ""}`;
    }
    if (status === 413) return "The upload is too large for the server: send fewer files at a time.";
    return status ? `The server answered ${status}.` : "The server cannot be reached.";
  }

  function send(body, isForm) {
    // XMLHttpRequest rather than fetch: it reports upload progress.
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", app.dataset.url);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      if (!isForm) xhr.setRequestHeader("Content-Type", "application/json");
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        $("import-progress").value = e.loaded / e.total;
        $("import-status").textContent = `Uploading: ${(e.loaded / 1e6).toFixed(1)} of ${(e.total / 1e6).toFixed(1)} MB`;
      };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        resolve({ status: xhr.status, data });
      };
      xhr.onerror = () => resolve({ status: 0, data: null });
      xhr.send(isForm ? body : JSON.stringify(body));
    });
  }

  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  }

  async function follow(job) {
    while (ACTIVE.includes(job.status)) {
      $("import-progress").value = job.progress;
      $("import-status").textContent = `Importing: ${Math.round(job.progress * 100)}%${job.message ? " · " + job.message : ""}`;
      await sleep(1000);
      try { job = await getJSON(`${app.dataset.jobs}/${job.id}`); } catch (e) { /* try again */ }
    }
    $("import-progress").value = 1;
    return job;
  }

  function showReport(job) {
    const result = job.result || {};
    const rows = $("report-rows");
    rows.replaceChildren();
    for (const file of result.files || []) {
      const tr = document.createElement("tr");
      for (const text of [file.source, file.status, file.reason || ""]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      tr.className = `import-${file.status}`;
      rows.appendChild(tr);
    }
    const parts = [
      `${plural(result.imported || 0, "photo", "photos")} imported`,
      `${plural(result.duplicate || 0, "duplicate", "duplicates")} (already in the project)`,
      `${plural(result.rejected || 0, "file", "files")} rejected`,
    ];
    $("report-summary").textContent = `${parts.join(", ")}.${result.files_truncated ? " The list shows the first files only." : ""}`;
    $("import-report").hidden = false;
  }

  async function followFaces(since) {
    $("import-faces").hidden = false;
    const url = `${app.dataset.jobs}?project=${app.dataset.project}&kind=face_detect&limit=5`;
    for (let i = 0; i < 3600; i += 1) {
      let jobs = [];
      try { jobs = (await getJSON(url)).results || []; } catch (e) { /* try again */ }
      const mine = jobs.filter((j) => j.created_at >= since);
      if (mine.length) {
        const active = mine.filter((j) => ACTIVE.includes(j.status));
        const progress = mine.reduce((sum, j) => sum + (ACTIVE.includes(j.status) ? j.progress : 1), 0) / mine.length;
        $("faces-progress").value = progress;
        const latest = mine[0];
        $("faces-status").textContent = active.length
          ? `Detecting faces on the worker: ${Math.round(progress * 100)}%${latest.message ? " · " + latest.message : ""}`
          : `Face detection finished: ${latest.message || latest.status}.`;
        if (!active.length) break;
      } else {
        $("faces-status").textContent = "Face detection is queued for the worker…";
      }
      await sleep(1500);
    }
    $("import-next").hidden = false;
  }

  $("import-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("import-error").hidden = true;
    $("import-report").hidden = true;
    const files = [...$("import-files").files, ...[...$("import-folder").files].filter((f) => IMPORTABLE.test(f.name))];
    const urls = $("import-urls").value.split(/\s+/).map((u) => u.trim()).filter(Boolean);
    const keyword = $("import-keyword").value.trim();
    if (!files.length && !urls.length) return fail("Choose photos, a zip or a folder, or paste URLs first.");
    if (files.length && urls.length) return fail("Import files or URLs, one at a time.");
    $("import-start").disabled = true;
    $("import-job").hidden = false;
    const since = new Date(Date.now() - 5000).toISOString();
    let body;
    if (files.length) {
      body = new FormData();
      for (const file of files) body.append("files", file, file.webkitRelativePath || file.name);
      body.append("keyword", keyword);
    } else {
      body = { urls, keyword };
    }
    const { status, data } = await send(body, files.length > 0);
    if (status !== 202 || !data) return fail(`The import did not start: ${errorText(status, data)}`);
    const job = await follow(data);
    $("import-status").textContent = job.status === "succeeded"
      ? `Import finished: ${job.message || "done"}.`
      : `The import ${job.status === "cancelled" ? "was cancelled" : "failed"}: ${job.message || "no reason given"}`;
    showReport(job);
    $("import-start").disabled = false;
    if ((job.result && job.result.imported) || job.status === "succeeded") followFaces(since);
  });
})();
