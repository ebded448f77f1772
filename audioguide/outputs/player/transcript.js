/* audioguide's phone player: the transcript, one paragraph per cue, the one being spoken highlighted
   and kept in view; a tap on one plays from there. Its cues come from player/data.js, then (served
   over http: Chromium loads no <track> from file://) from the stop's WebVTT file. Uses: store, ui,
   playback. */
"use strict";

const transcript = (() => {
  const { $, make, clear, tagLanguage } = ui;
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  /* The paragraphs of `cues` ([start, end, text] each, and who says it where one of the guide's speakers
     does), from `source` ("data" or "vtt"). A speaker's name stands before their passage, in the
     paragraph's button, so that it is part of what a screen reader says of it. */
  function show(stop, cues, source) {
    const box = $("cues");
    const state = store.cues;
    clear(box);
    state.starts = [];
    state.paragraphs = [];
    state.active = -1;
    let speaker = "";
    for (const cue of cues) {
      const p = make("p", "cue");
      tagLanguage(p, stop.lang || store.language.code);
      const b = make("button", "");
      const name = cue[3] || "";
      if (name && name !== speaker) {
        p.classList.add("passage");
        b.appendChild(make("span", "speaker", name + ":"));
        b.appendChild(document.createTextNode(" "));
      }
      speaker = name;
      b.appendChild(document.createTextNode(cue[2]));
      b.type = "button";
      const start = Number(cue[0]) || 0;
      b.addEventListener("click", () => {
        playback.media().currentTime = start + 0.01;
        playback.updateTime();
        playback.play();
      });
      p.appendChild(b);
      box.appendChild(p);
      state.starts.push(start);
      state.paragraphs.push(p);
    }
    box.scrollTop = 0;
    $("transcript").hidden = !cues.length;
    document.body.dataset.cues = source;
    highlight();
  }

  /* The stop's WebVTT file as the audio's captions track: its times replace data.js's. */
  function load(stop) {
    const audio = $("audio");
    const element = document.createElement("track");
    element.kind = "captions";
    element.src = stop.vtt;
    element.srclang = stop.lang || store.language.code;
    element.label = stop.title;
    element.addEventListener("load", () => {
      if (store.track !== stop) return;
      const cues = Array.from(element.track.cues || [], (cue) => [cue.startTime, cue.endTime,
                                                                   cue.getCueAsHTML().textContent,
                                                                   voiceOf(cue.text)]);
      if (!cues.length) return;
      const same = stop.cues && stop.cues.length === cues.length;
      // The same paragraphs as data.js: keep them and take the track's times; otherwise its cues.
      show(stop, same ? cues.map((cue, i) => [cue[0], cue[1], stop.cues[i][2], stop.cues[i][3]]) : cues, "vtt");
    });
    element.addEventListener("error", () => {
      if (store.track === stop) document.body.dataset.cues = "data";
    });
    element.track.addEventListener("cuechange", highlight);
    audio.appendChild(element);
    element.track.mode = "hidden";
  }

  /* Who says a WebVTT cue: the name in its voice span (`<v Curator>...`), or "". */
  function voiceOf(text) {
    const m = /^<v(?:\.[^\s>]*)?\s+([^>]*)>/.exec(text || "");
    return m ? m[1].replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&").trim() : "";
  }

  function highlight() {
    const state = store.cues;
    const now = playback.media().currentTime || 0;
    let index = -1;
    for (let i = 0; i < state.starts.length && state.starts[i] <= now + 0.05; i++) index = i;
    if (index === state.active) return;
    const before = state.paragraphs[state.active];
    if (state.active >= 0 && before) {
      before.classList.remove("current");
      before.removeAttribute("aria-current");
    }
    state.active = index;
    if (index < 0) return;
    state.paragraphs[index].classList.add("current");
    state.paragraphs[index].setAttribute("aria-current", "true");
    keepInView(state.paragraphs[index]);
  }

  // The transcript scrolls in its own box, so the page never jumps under the visitor's finger; not
  // while the visitor is scrolling it themselves.
  function keepInView(p) {
    const box = $("cues");
    if (box.scrollHeight <= box.clientHeight || Date.now() - store.cues.scrolledAt < 4000) return;
    const top = Math.max(0, p.offsetTop - box.clientHeight / 4);
    box.scrollTo({ top, behavior: reducedMotion.matches ? "auto" : "smooth" });
  }

  function start() {
    for (const name of ["wheel", "touchmove"]) {
      $("cues").addEventListener(name, () => { store.cues.scrolledAt = Date.now(); }, { passive: true });
    }
  }

  return { show, load, highlight, start, reducedMotion };
})();
