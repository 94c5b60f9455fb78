// Quiz page: one face at a time with the labelling page's keys (1-7 answer and move on,
// Backspace goes back). Without this script the faces are simply listed.
(() => {
  "use strict";
  const form = document.getElementById("quiz-form");
  if (!form) return;
  const questions = Array.from(form.querySelectorAll(".quiz-question"));
  if (!questions.length) return;
  const submit = document.getElementById("quiz-submit");
  const done = form.querySelector(".quiz-done");
  let index = 0;
  form.classList.add("quiz-one");
  for (const hint of document.querySelectorAll(".quiz-keys-hint")) hint.hidden = false;

  const answered = (q) => Boolean(q.querySelector("input[type=radio]:checked"));
  const allAnswered = () => questions.every(answered);

  function show(i) {
    index = Math.max(0, Math.min(i, questions.length));
    questions.forEach((q, j) => q.classList.toggle("current", j === index));
    const finished = index === questions.length;
    submit.hidden = !(finished && allAnswered());
    done.hidden = submit.hidden;
    if (finished) {
      if (!allAnswered()) { show(questions.findIndex((q) => !answered(q))); return; }
      submit.focus();
    } else {
      const checked = questions[index].querySelector("input:checked") || questions[index].querySelector("input");
      checked.focus({ preventScroll: true });
    }
  }

  function answer(i, value) {
    const input = questions[i].querySelector(`input[value="${value}"]`);
    if (!input) return;
    input.checked = true;
    show(i + 1);
  }

  questions.forEach((q, i) => {
    for (const input of q.querySelectorAll("input[type=radio]")) {
      // A click (or tap) answers and moves on; the arrow keys only move the choice.
      input.addEventListener("click", (event) => { if (event.detail > 0) answer(i, input.value); });
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const n = questions[0].querySelectorAll("input[type=radio]").length;
    if (key >= "1" && key <= "9" && Number(key) <= n && index < questions.length) {
      event.preventDefault();
      answer(index, Number(key) - 1);
    } else if (key === "Backspace" && index > 0) {
      event.preventDefault();
      show(index - 1);
    } else if (key === "Enter" && index < questions.length && answered(questions[index])) {
      event.preventDefault();
      show(index + 1);
    }
  });
  show(0);
})();
