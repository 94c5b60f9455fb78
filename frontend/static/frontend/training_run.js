// Training run page: follows the run while it is queued or running (iteration, loss and ETA come
// in the job's message), reloads when it ends; cancel and "set as current model" buttons.
(() => {
  "use strict";
  const root = document.getElementById("training");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const ACTIVE = ["queued", "running"];

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fail(text) {
    $("training-error").textContent = text;
    $("training-error").hidden = false;
  }

  async function post(button) {
    if (button.id === "training-cancel" &&
        !window.confirm("Cancel this training run? It stops within seconds and its checkpoints are deleted; it cannot be resumed.")) {
      return;
    }
    button.disabled = true;
    $("training-error").hidden = true;
    try {
      const r = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: "{}",
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error((body.error && body.error.message) || `The server answered ${r.status}.`);
      if (button.id === "training-cancel") {
        // The worker stops at its next iteration; follow it closely until it has.
        $("training-message").textContent = "Cancelling…";
        interval = 1000;
        clearTimeout(timer);
        timer = setTimeout(poll, 500);
        return;
      }
      window.location.reload();
    } catch (e) {
      fail(e.message);
      button.disabled = false;
    }
  }

  for (const id of ["training-cancel", "make-current"]) {
    const button = $(id);
    if (button) button.addEventListener("click", () => post(button));
  }

  let interval = 3000;
  let timer = null;
  async function poll() {
    try {
      const r = await fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const run = await r.json();
      const job = run.job || { status: "failed", progress: 0, message: "" };
      $("training-progress").value = job.progress;
      $("training-message").textContent = `${Math.round(job.progress * 100)}%${job.message ? " · " + job.message : ""}`;
      $("training-status").textContent = job.status;
      if (!ACTIVE.includes(job.status)) return window.location.reload();
    } catch (e) { /* keep the last figures and try again */ }
    timer = setTimeout(poll, interval);
  }
  if (root.dataset.active === "1") timer = setTimeout(poll, 2000);
})();
