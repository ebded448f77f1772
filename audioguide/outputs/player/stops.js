/* audioguide's phone player: the list of every stop, the one open marked. Uses: store, ui, images, playback. */
"use strict";

const stops = (() => {
  const { $, make, clear, t, tagUi, tagLanguage, clock, adSymbol } = ui;

  function render() {
    const { language, byCode } = store;
    const list = $("stops");
    clear(list);
    for (const stop of language.stops) {
      const a = make("a");
      a.href = store.link(language.code, stop.stop);
      a.appendChild(make("span", "stop-number", String(stop.stop)));
      const thumb = images.thumb(stop);
      if (thumb) a.appendChild(thumb);
      const title = make("span", "stop-title", stop.title);
      tagLanguage(title, stop.lang || language.code);
      if (stop.fallback && byCode[stop.lang]) {
        title.appendChild(make("span", "stop-lang", byCode[stop.lang].native || byCode[stop.lang].name));
      }
      if ((stop.versions || []).some((v) => v.kind === "audio-description")) title.appendChild(adSymbol(true));
      a.appendChild(title);
      const duration = make("span", "stop-duration");
      const label = make("span", "visually-hidden", t("duration") + " ");
      tagUi(label, "duration");
      duration.appendChild(label);
      duration.appendChild(document.createTextNode(clock(stop.duration, true)));
      a.appendChild(duration);
      a.addEventListener("click", (event) => {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        if (store.current === stop) {
          playback.play();
          playback.reveal();
        } else {
          playback.open(stop, { play: true, reveal: true });
        }
      });
      if (store.current && store.current.stop === stop.stop) a.setAttribute("aria-current", "true");
      const li = make("li");
      li.appendChild(a);
      list.appendChild(li);
    }
  }

  /* The open stop's link marked as the current one. */
  function mark() {
    const { current, language } = store;
    for (const a of $("stops").querySelectorAll("a")) {
      if (current && a.getAttribute("href") === store.link(language.code, current.stop)) {
        a.setAttribute("aria-current", "true");
      } else {
        a.removeAttribute("aria-current");
      }
    }
  }

  return { render, mark };
})();
