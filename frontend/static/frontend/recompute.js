// "Recompute reliability" (dashboard and runs page): starts a reliability run through the API
// (a second click while one runs gets the running one back), follows its job every second and
// reloads the page once it has finished, so the tables show the new current run.
(() => {
  "use strict";
  const root = document.querySelector(".recompute");
  if (!root) return;
  const button = document.getElementById("recompute");
  const line = document.getElementById("recompute-job");
  const bar = document.getElementById("recompute-progress");
  const status = document.getElementById("recompute-status");
  const error = document.getElementById("recompute-error");
  const DONE = ["succeeded", "failed", "cancelled"];

  function csrf() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fail(text) {
    error.textContent = text;
    error.hidden = false;
    if (button) button.disabled = false;
  }

  async function follow(jobId, runId) {
    line.hidden = false;
    let delay = 1000;
    for (;;) {
      let job;
      try {
        const r = await fetch(`/api/v1/jobs/${jobId}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        job = await r.json();
        delay = 1000;
      } catch (e) {
        status.textContent = "Lost contact with the server; trying again…";
        delay = Math.min(delay * 2, 10000);
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      bar.value = job.progress;
      status.textContent = `Run ${runId || ""} ${job.status}: ${Math.round(job.progress * 100)}%${job.message ? " · " + job.message : ""}`;
      if (DONE.includes(job.status)) {
        if (job.status === "succeeded") {
          status.textContent = `Run ${runId || ""} finished: ${job.message || "done"}. Reloading…`;
          setTimeout(() => window.location.reload(), 600);
        } else {
          fail(`The reliability run ${job.status}: ${job.message || job.error || "no details"}`);
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  if (button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      error.hidden = true;
      line.hidden = false;
      status.textContent = "Starting…";
      try {
        const r = await fetch(root.dataset.url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
          body: JSON.stringify({}),
        });
        const body = await r.json().catch(() => ({}));
        if (!r.ok) return fail((body.error && body.error.message) || `The server answered ${r.status}.`);
        if (r.status === 200) status.textContent = `Run ${body.id} is already ${body.status}; following it.`;
        if (body.job) follow(body.job, body.id);
        else if (body.status === "succeeded") window.location.reload();
      } catch (e) {
        fail("Could not reach the server. Nothing was started; try again.");
      }
    });
  }
  if (root.dataset.job) follow(root.dataset.job, "");
})();
