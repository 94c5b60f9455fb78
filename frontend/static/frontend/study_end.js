// Study end page (completion or screened out): after a short countdown, go back to the market:
// follow the return URL (Prolific, generic) or submit the HIT form (MTurk).
(() => {
  "use strict";
  const box = document.getElementById("study-return");
  if (!box) return;
  const note = document.getElementById("study-return-note");
  let left = Number(box.dataset.delay || 5);
  const go = () => {
    if (box.tagName === "FORM") box.submit();
    else window.location.assign(box.dataset.url);
  };
  const tick = () => {
    if (left <= 0) { go(); return; }
    if (note) note.textContent = note.textContent.replace(/\d+ seconds?/, `${left} second${left === 1 ? "" : "s"}`);
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
})();
