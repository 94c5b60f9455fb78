// Reliability run page: "Export dataset" in the chosen format (RAF-DB layout or Hugging Face
// datasets; start, follow the export until its expiring download link is ready) and the form that starts a training run on this run.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function call(url, method, body) {
    const r = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = data.error || {};
      let text = err.message || `The server answered ${r.status}.`;
      if (err.details && typeof err.details === "object" && !Array.isArray(err.details)) {
        text += " " + Object.entries(err.details).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ");
      }
      throw new Error(text);
    }
    return data;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Exports
  const exports = $("exports");
  if (exports) {
    const button = $("export-start");
    const status = $("export-status");
    const fail = (text) => { $("export-error").textContent = text; $("export-error").hidden = false; button.disabled = false; };

    function showLink(item) {
      const holder = $("export-link");
      const a = document.createElement("a");
      a.href = item.download_url;
      a.textContent = `Download export ${item.id}`;
      const note = document.createElement("span");
      note.className = "muted";
      note.textContent = ` (${item.format}, ${item.size_bytes ? Math.round(item.size_bytes / 1024) + " KiB, " : ""}content hash ${(item.content_hash || "").slice(0, 12)}, link expires ${item.expires_at.slice(11, 16)} UTC)`;
      holder.replaceChildren(a, note);
      holder.hidden = false;
      a.focus();
      // The new export joins the list of this run's exports.
      const body = document.querySelector("#export-list tbody");
      body.querySelector("tr.empty")?.remove();
      const row = document.createElement("tr");
      const when = new Date(item.created_at).toISOString().slice(0, 16).replace("T", " ");
      for (const text of [String(item.id), item.format, "you", when, "succeeded", item.size_bytes ? `${Math.round(item.size_bytes / 1024)} KiB` : "–"]) {
        const td = document.createElement("td");
        td.textContent = text;
        row.appendChild(td);
      }
      const hash = document.createElement("td");
      if (item.content_hash) {
        const code = document.createElement("code");
        code.textContent = item.content_hash.slice(0, 12);
        code.title = item.content_hash;
        hash.appendChild(code);
      } else {
        hash.textContent = "–";
      }
      row.appendChild(hash);
      const cell = document.createElement("td");
      cell.appendChild(a.cloneNode(true));
      row.appendChild(cell);
      body.prepend(row);
    }

    button.addEventListener("click", async () => {
      button.disabled = true;
      $("export-error").hidden = true;
      $("export-link").hidden = true;
      $("export-job").hidden = false;
      status.textContent = "Starting the export…";
      let item;
      try {
        const format = exports.querySelector('input[name="export-format"]:checked')?.value || "rafdb";
        item = (await call(exports.dataset.url, "POST", { run: Number(exports.dataset.run), format })).export;
      } catch (e) {
        return fail(e.message);
      }
      let misses = 0;
      for (;;) {
        const job = item.job || { status: "succeeded", progress: 1 };
        $("export-progress").value = job.progress;
        status.textContent = `Export ${item.id} ${job.status}: ${Math.round(job.progress * 100)}%${job.message ? " · " + job.message : ""}`;
        if (job.status === "succeeded" && item.download_url) { button.disabled = false; return showLink(item); }
        if (job.status === "failed" || job.status === "cancelled") return fail(`The export ${job.status}: ${job.error || job.message || "no details"}`);
        await sleep(1000);
        try {
          item = await call(`/api/v1/exports/${item.id}`, "GET");
          misses = 0;
        } catch (e) {
          if (++misses > 10) return fail(`Lost track of export ${item.id}: ${e.message}`);
        }
      }
    });
  }

  // Training form
  const form = $("training-form");
  if (form) {
    // "Small" fills the form from the platform's small CPU configuration and sends its other
    // settings (narrow layers, CPU) too; the paper recipe uses the form's values alone.
    const preset = form.elements.preset;
    const presetConfig = () => {
      const option = preset && preset.selectedOptions[0];
      return option && option.dataset.config ? JSON.parse(option.dataset.config) : {};
    };
    const paperDefaults = {};
    for (const name of ["loss", "iters", "batch_size", "k", "lr", "lambda_"]) paperDefaults[name] = form.elements[name].value;
    if (preset) {
      preset.addEventListener("change", () => {
        const chosen = presetConfig();
        for (const name of Object.keys(paperDefaults)) {
          form.elements[name].value = name in chosen ? chosen[name] : paperDefaults[name];
        }
      });
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = $("train-error");
      error.hidden = true;
      const config = { ...presetConfig(), loss: form.elements.loss.value };
      for (const name of ["iters", "batch_size", "k", "seed"]) {
        const field = form.elements[name];
        if (field.value === "" || !Number.isInteger(Number(field.value))) {
          error.textContent = `${field.labels[0].textContent} must be a whole number.`;
          error.hidden = false;
          field.focus();
          return;
        }
        config[name] = Number(field.value);
      }
      for (const name of ["lr", "lambda_"]) {
        const field = form.elements[name];
        if (field.value === "" || Number.isNaN(Number(field.value))) {
          error.textContent = `${field.labels[0].textContent} must be a number.`;
          error.hidden = false;
          field.focus();
          return;
        }
        config[name] = Number(field.value);
      }
      $("train-start").disabled = true;
      try {
        const run = await call(form.dataset.url, "POST", {
          reliability_run: Number(form.dataset.run),
          subset: form.elements.subset.value,
          config,
        });
        window.location.assign(`/training-runs/${run.id}/`);
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        $("train-start").disabled = false;
      }
    });
  }
})();
