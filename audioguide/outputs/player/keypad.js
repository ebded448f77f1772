/* audioguide's phone player: the keypad, on the screen and on a keyboard (the digits anywhere on the
   page, Enter to play, Backspace to delete). Uses: store, ui, playback. */
"use strict";

const keypad = (() => {
  const { $, say } = ui;
  const MAX_DIGITS = 4;

  function show() { $("display").textContent = store.digits; }

  function typeDigit(digit) {
    if (store.digits.length >= MAX_DIGITS) return;
    store.digits = store.digits === "0" ? digit : store.digits + digit;
    say("", null, true);
    show();
  }

  function deleteDigit() {
    store.digits = store.digits.slice(0, -1);
    show();
  }

  function submit() {
    if (!store.digits) {
      say("empty");
      return;
    }
    const number = parseInt(store.digits, 10);
    store.digits = "";
    show();
    const stop = store.find(number);
    const { language } = store;
    if (!stop) {
      say("unknown", { n: number, language: language.native || language.code });
      return;
    }
    playback.open(stop, { play: true, reveal: true });
    say("opened", { n: stop.stop, title: stop.title }, true);
  }

  function formControl(el) {
    return !!(el && el.closest && el.closest("input, select, textarea, video, [contenteditable]:not([contenteditable='false'])"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (formControl(target)) return;
    if (/^[0-9]$/.test(event.key)) {
      event.preventDefault();
      typeDigit(event.key);
    } else if (event.key === "Backspace") {
      event.preventDefault();
      deleteDigit();
    } else if (event.key === "Enter") {
      // Enter plays the number typed unless it belongs to another control (a link, a button).
      const control = target && target.closest ? target.closest("a, button, summary, [role='button'], [tabindex]") : null;
      if (!control || $("keypad").contains(control)) {
        event.preventDefault();
        submit();
      }
    }
  }

  function start() {
    for (const key of $("keypad").querySelectorAll("[data-digit]")) {
      key.addEventListener("click", (event) => typeDigit(event.currentTarget.getAttribute("data-digit")));
    }
    $("delete").addEventListener("click", deleteDigit);
    $("go").addEventListener("click", submit);
    document.addEventListener("keydown", onKey);
  }

  return { start };
})();
