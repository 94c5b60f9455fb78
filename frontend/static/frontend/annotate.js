// Labelling page: one face at a time, keys 1-7 vote, 0/R reports "no face / can't see".
// The next faces are claimed ahead and decoded before they are needed, so a key press
// switches the picture at once; votes go to an outbox (kept in localStorage) that is sent in
// order with retries, so a network error never loses a vote silently.
(() => {
  "use strict";
  const app = document.getElementById("label-app");
  if (!app) return;
  const cfg = app.dataset;
  const $ = (id) => document.getElementById(id);
  const stage = $("stage"), statusLine = $("status"), alertBox = $("alert"), alertText = $("alert-text");
  const choiceButtons = Array.from(document.querySelectorAll(".choice[data-label]"));
  const reportButton = $("report");
  const undoButton = $("undo");
  const nClasses = choiceButtons.length;
  const storeKey = `raf.outbox.${cfg.project}.${cfg.user}`;
  const AHEAD = 2; // faces decoded and waiting behind the one on screen

  let current = null; // {assignment, img, decoded, shownAt}
  const ahead = [];
  let requested = 0; // faces asked for in a request still in flight
  let outbox = loadOutbox();
  let sending = false;
  let failures = 0;
  let retryTimer = null;
  let finished = false;
  let stopped = false; // logged out: keep the outbox, stop sending until the page is reloaded
  let shownCount = 0;
  let last = null; // the last answer, while it may be undone: {entry, item}
  let inFlight = null; // the outbox item being sent
  // A study participant stops at the study's quota of votes and goes to its completion page.
  const quota = cfg.quota ? Number(cfg.quota) : 0;
  let total = null; // the participant's votes in the project, as the server last said

  function loadOutbox() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "[]"); } catch (e) { return []; }
  }
  function saveOutbox() {
    try { localStorage.setItem(storeKey, JSON.stringify(outbox)); } catch (e) { /* private mode: memory only */ }
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": cfg.csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { /* empty or not JSON */ }
    return { status: response.status, data };
  }

  // ---- pictures -------------------------------------------------------------------------
  function preload(assignment) {
    const img = new Image();
    img.alt = "Face to label";
    img.width = assignment.image.width || 512;
    img.height = assignment.image.height || 512;
    img.decoding = "async";
    const entry = { assignment, img, decoded: false, failed: false };
    img.src = assignment.image.url;
    entry.ready = img.decode().then(() => { entry.decoded = true; }, () => { entry.failed = true; });
    return entry;
  }

  function addAssignments(list) {
    for (const assignment of list || []) {
      if (current && current.assignment.id === assignment.id) continue;
      if (ahead.some((e) => e.assignment.id === assignment.id)) continue;
      ahead.push(preload(assignment));
    }
    if (!current && ahead.length) advance();
  }

  function setChoicesEnabled(on) {
    for (const b of choiceButtons) { b.disabled = !on; b.setAttribute("aria-checked", "false"); }
    reportButton.disabled = !on;
  }

  function stageMessage(text) {
    stage.replaceChildren();
    const p = document.createElement("p");
    p.className = "stage-message";
    p.textContent = text;
    stage.appendChild(p);
  }

  function show(entry) {
    current = entry;
    shownCount += 1;
    entry.img.alt = `Face to label, number ${shownCount}`;
    stage.replaceChildren(entry.img);
    stage.setAttribute("aria-busy", "false");
    setChoicesEnabled(true);
    // The vote's time starts when the face is painted, not when the key handler ran: wait
    // for the (already preloaded) picture to be decoded, then for the frame that paints it.
    const painted = () => requestAnimationFrame(() => {
      if (current !== entry) return;
      entry.shownAt = performance.now();
      app.dispatchEvent(new CustomEvent("raf:shown", { detail: { assignmentId: entry.assignment.id, at: entry.shownAt } }));
    });
    if (entry.failed) painted(); else entry.img.decode().then(painted, painted);
    if (entry.failed) statusLine.textContent = "This picture did not load. Press 0 if you cannot see a face.";
  }

  function advance() {
    const next = ahead.shift();
    current = null;
    if (!next) {
      setChoicesEnabled(false);
      stage.setAttribute("aria-busy", "true");
      if (finished && !requested) showFinished(); else stageMessage("Loading the next face…");
      return;
    }
    if (next.decoded || next.failed) show(next);
    else { current = next; next.ready.then(() => { if (current === next) show(next); }); }
  }

  function showFinished() {
    if (cfg.doneUrl) { stageMessage("Finishing…"); finishStudy(); return; }
    stageMessage("No more faces to label in this project.");
    const box = $("finished");
    if (box.hidden) { box.hidden = false; box.focus(); }
  }

  function wanted() {
    // Faces in hand: the one on screen plus AHEAD decoded behind it; ask for the shortfall.
    if (finished) return 0;
    let need = Math.max(0, Math.min(2, 1 + AHEAD - (current ? 1 : 0) - ahead.length - requested));
    if (quota) {
      // Never hold more faces than the votes left to the quota.
      const left = quota - (total || 0) - outbox.length - (current ? 1 : 0) - ahead.length - requested;
      need = Math.max(0, Math.min(need, left));
    }
    return need;
  }

  function quotaReached() {
    return Boolean(quota && total !== null && total >= quota);
  }

  let leaving = false;
  function finishStudy() {
    // Every vote is stored (the outbox is empty): the completion page checks the count.
    if (!cfg.doneUrl || outbox.length || leaving) return;
    leaving = true;
    window.location.assign(cfg.doneUrl);
  }

  // ---- votes and reports ----------------------------------------------------------------
  function choose(label, button) {
    if (!current || !current.shownAt || stopped) return;
    const taken = Math.max(0, Math.round(performance.now() - current.shownAt));
    if (button) button.setAttribute("aria-checked", "true");
    const id = current.assignment.id;
    if (label === null) {
      outbox.push({ kind: "report", id, body: { reason: "no face / can't see" } });
      reportButton.classList.add("flash");
      setTimeout(() => reportButton.classList.remove("flash"), 600);
      statusLine.textContent = "Reported as no face / can't see: this picture goes to an admin, not into the votes.";
      last = null;
      undoButton.hidden = true;
    } else {
      const item = { kind: "vote", id, body: { label, time_taken_ms: taken } };
      outbox.push(item);
      last = { entry: current, item };
      undoButton.hidden = false;
      if (statusLine.textContent.startsWith("Reported") || statusLine.textContent.startsWith("Your last answer")) {
        statusLine.textContent = "";
      }
    }
    saveOutbox();
    advance();
    pump();
  }

  // ---- undo of the last answer ----------------------------------------------------------
  // Unsent, it is simply dropped from the outbox; sent, the server takes it back while the
  // face's reservation is open (both answers stay on record) and the face comes back.
  function restore(entry) {
    if (current) ahead.unshift(current);
    $("finished").hidden = true;
    entry.shownAt = null;
    shownCount -= 1;
    show(entry);
    last = null;
    undoButton.hidden = true;
    statusLine.textContent = "Your last answer was taken back: answer this face again.";
  }

  async function undo() {
    if (!last || stopped) return;
    const { entry, item } = last;
    const queued = outbox.indexOf(item);
    if (queued >= 0 && item !== inFlight) {
      outbox.splice(queued, 1);
      saveOutbox();
      restore(entry);
      return;
    }
    if (!item.voteId) { item.undoWanted = true; return; } // being sent: undone when it is stored
    last = null;
    undoButton.hidden = true;
    let result;
    try { result = await post(`${cfg.undoUrl}${item.voteId}/undo`, {}); } catch (e) { result = { status: 0, data: null }; }
    if (result.status === 200) {
      updateProgress(result.data && result.data.progress);
      restore(entry);
    } else {
      const message = result.data && result.data.error ? result.data.error.message : "the server cannot be reached.";
      statusLine.textContent = `Your last answer could not be undone: ${message}`;
    }
  }

  function updateProgress(p) {
    if (!p) return;
    $("progress-today").textContent = p.today;
    $("progress-total").textContent = p.total;
    $("progress-remaining").textContent = p.remaining;
    if (p.finished) finished = true;
    if (quota) {
      total = p.total;
      $("progress-quota").textContent = Math.min(p.total, quota);
      if (quotaReached()) finished = true;
    }
  }

  function showAlert(text) {
    alertText.textContent = text;
    alertBox.hidden = false;
  }
  function clearAlert() { alertBox.hidden = true; alertText.textContent = ""; }

  function scheduleRetry() {
    failures += 1;
    const delay = Math.min(30000, 500 * 2 ** (failures - 1));
    if (failures >= 3) {
      const n = outbox.length;
      showAlert(`${n} ${n === 1 ? "vote is" : "votes are"} not sent yet: the server cannot be reached. ` +
        `They are kept in this browser and sent again in ${Math.round(delay / 1000)} s.`);
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(pump, delay);
  }

  async function pump() {
    if (sending || stopped) return;
    if (!outbox.length && quotaReached()) { setChoicesEnabled(false); finishStudy(); return; }
    if (!outbox.length) { topUp(); return; }
    sending = true;
    const item = outbox[0];
    inFlight = item;
    const next = wanted();
    const base = cfg.assignmentsUrl + item.id + (item.kind === "vote" ? "/vote" : "/report");
    let result;
    try {
      requested += next;
      result = await post(base, { ...item.body, next });
    } catch (e) {
      result = { status: 0, data: null };
    } finally {
      requested -= next;
      sending = false;
      inFlight = null;
    }
    const { status, data } = result;
    const code = data && data.error ? data.error.code : "";
    if (code === "already_voted" || code === "already_reported") {
      // Stored by an earlier try whose answer was lost on the way back: done, nothing to say.
      outbox.shift(); saveOutbox(); failures = 0; clearAlert();
      pump();
    } else if (status === 200 || status === 201) {
      outbox.shift(); saveOutbox(); failures = 0; clearAlert();
      if (item.kind === "vote" && data && data.vote) {
        item.voteId = data.vote.id;
        if (item.undoWanted) undo();
      }
      updateProgress(data && data.progress);
      if (data && data.notice) statusLine.textContent = data.notice;
      addAssignments(data && data.next);
      if (!current && !ahead.length && finished) showFinished();
      pump();
    } else if (status === 401 || code === "not_authenticated" || code === "authentication_failed" ||
               (status === 403 && /CSRF/.test(data && data.error ? data.error.message : ""))) {
      // Logged out, or logged in again elsewhere (a new CSRF token): keep the outbox; a
      // reload after logging in sends it.
      stopped = true;
      showAlert("You are logged out. Your unsent votes are kept in this browser; log in again to send them.");
      const link = document.createElement("a"); link.href = cfg.loginUrl; link.textContent = " Log in";
      alertText.appendChild(link);
    } else if (status === 429 && (code === "too_fast" || code === "throttled")) {
      // Too soon after the picture appeared, or over the per-person rate: the answer stays
      // first in the outbox and is sent again when the server says it will be taken.
      const details = (data && data.error && data.error.details) || {};
      const wait = details.retry_after_ms || (details.wait_s ? details.wait_s * 1000 : 1000);
      if (code === "throttled") statusLine.textContent = "You are answering faster than allowed; your answers are sent in a moment.";
      clearTimeout(retryTimer);
      retryTimer = setTimeout(pump, Math.min(60000, Math.max(100, wait)));
    } else if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
      // The server refused this one for good (e.g. the image has all its votes): drop it, say so.
      outbox.shift(); saveOutbox(); failures = 0;
      const message = data && data.error ? data.error.message : `error ${status}`;
      statusLine.textContent = `One answer was not recorded: ${message}`;
      pump();
    } else {
      scheduleRetry();
    }
  }

  async function topUp() {
    if (sending || stopped) return;
    const need = wanted();
    if (!need) {
      if (!current && !ahead.length && finished) showFinished();
      return;
    }
    sending = true;
    requested += need;
    let result;
    try { result = await post(cfg.claimUrl, { count: need }); } catch (e) { result = { status: 0, data: null }; }
    finally { requested -= need; sending = false; }
    const { status, data } = result;
    if (status === 200 || status === 201) {
      failures = 0; clearAlert();
      if (data.finished) finished = true;
      addAssignments(data.assignments);
      if (!current && !ahead.length && (data.finished || !(data.assignments || []).length)) {
        finished = true;
        showFinished();
      }
      if (outbox.length) pump();
    } else if (status === 403 && data && data.error && data.error.code === "not_qualified") {
      window.location.assign(cfg.quizUrl);
    } else if (status === 401 || status === 403) {
      stopped = true;
      showAlert(data && data.error && data.error.code !== "not_authenticated"
        ? `Labelling is not possible now: ${data.error.message}`
        : "You are logged out. Log in again to go on labelling.");
    } else {
      scheduleRetry();
    }
  }

  async function loadProgress() {
    try {
      const r = await fetch(cfg.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.ok) updateProgress(await r.json());
    } catch (e) { /* shown again after the next vote */ }
  }

  // ---- input ----------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    const key = event.key;
    if (key >= "1" && key <= "9" && Number(key) <= nClasses) {
      event.preventDefault();
      choose(Number(key) - 1, choiceButtons[Number(key) - 1]);
    } else if (key === "0" || key === "r" || key === "R") {
      event.preventDefault();
      choose(null, null);
    } else if (key === "u" || key === "U" || key === "Backspace") {
      event.preventDefault();
      undo();
    } else if ((key === "ArrowRight" || key === "ArrowLeft") && choiceButtons.includes(document.activeElement)) {
      const i = choiceButtons.indexOf(document.activeElement);
      const j = (i + (key === "ArrowRight" ? 1 : nClasses - 1)) % nClasses;
      event.preventDefault();
      choiceButtons[j].focus();
    }
  });
  for (const button of choiceButtons) {
    button.addEventListener("click", () => choose(Number(button.dataset.label), button));
  }
  reportButton.addEventListener("click", () => choose(null, null));
  undoButton.addEventListener("click", () => undo());
  $("retry-now").addEventListener("click", () => { clearTimeout(retryTimer); failures = 0; pump(); });
  window.addEventListener("online", () => { clearTimeout(retryTimer); pump(); });
  window.addEventListener("beforeunload", (event) => {
    if (outbox.length) { event.preventDefault(); event.returnValue = ""; }
  });

  // Tests and the latency bench read these.
  window.rafLabel = {
    outbox: () => outbox.slice(),
    ahead: () => ahead.length,
    current: () => current && current.assignment.id,
    ready: () => Boolean(current && current.shownAt),
  };

  loadProgress();
  if (outbox.length) statusLine.textContent = `Sending ${outbox.length} ${outbox.length === 1 ? "answer" : "answers"} saved in this browser…`;
  pump();
})();
