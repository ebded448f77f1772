/* audioguide's phone player: the guide's tours (guide.toml [tours.<id>]): the list of them, each with
   its title, description, number of stops and length, and inside one, where the visitor is in it
   ("Highlights: 3 of 4") with a way back to the whole guide. Entering and leaving a tour is a
   change of address (#/<lang>/tour/<id>, app.js routes it). Uses: store, ui. */
"use strict";

const tours = (() => {
  const { $, make, clear, t, tagUi, tagLanguage, clock, adSymbol } = ui;

  function length(tour) { // the build's sum of the tracks it plays (a stop's version where it plays one)
    return tour.duration !== undefined ? tour.duration
      : store.tourStops(tour).reduce((sum, stop) => sum + (stop.duration || 0), 0);
  }

  function render() {
    const { language } = store;
    const list = $("tours");
    clear(list);
    $("tours-section").hidden = !language.tours.length;
    for (const tour of language.tours) {
      const a = make("a");
      a.href = store.tourLink(language.code, tour.id);
      const title = make("span", "tour-title", tour.title);
      tagLanguage(title, language.code);
      if (tour.kind === "audio-description") title.appendChild(adSymbol(true)); // it plays audio descriptions
      a.appendChild(title);
      if (tour.description) {
        const about = make("span", "tour-about", tour.description);
        tagLanguage(about, language.code);
        a.appendChild(about);
      }
      const meta = make("span", "tour-meta");
      const count = make("span", "", t("stopCount", { count: tour.tracks.length }));
      tagUi(count, "stopCount");
      meta.appendChild(count);
      meta.appendChild(document.createTextNode(" · "));
      const label = make("span", "visually-hidden", t("duration") + " ");
      tagUi(label, "duration");
      meta.appendChild(label);
      meta.appendChild(document.createTextNode(clock(length(tour), true)));
      a.appendChild(meta);
      const li = make("li");
      li.appendChild(a);
      list.appendChild(li);
    }
    mark();
  }

  /* The tour followed marked in the list. */
  function mark() {
    for (const a of $("tours").querySelectorAll("a")) {
      if (store.tour && a.getAttribute("href") === store.tourLink(store.language.code, store.tour.id)) {
        a.setAttribute("aria-current", "true");
      } else {
        a.removeAttribute("aria-current");
      }
    }
  }

  /* Where the visitor is in the tour followed, under the stop's title; nothing outside a tour. */
  function progress() {
    const box = $("now-tour");
    const { tour, current, language } = store;
    box.hidden = !tour || !current;
    if (box.hidden) return;
    const title = $("now-tour-title");
    title.textContent = tour.title;
    tagLanguage(title, language.code);
    const place = store.tourStops(tour).indexOf(current);
    const at = $("now-tour-at");
    at.hidden = place < 0;
    if (place >= 0) {
      at.textContent = t("of", { a: place + 1, b: tour.tracks.length });
      tagUi(at, "of");
    }
    const leave = $("now-tour-leave");
    leave.href = store.link(language.code, current.stop);
    leave.textContent = t("stops");
    tagUi(leave, "stops");
  }

  /* Follow the tour `id` of the language shown (null: none, the whole guide); whether there is one. */
  function follow(id) {
    const tour = id === null ? null : store.language.tours.find((one) => one.id === id) || null;
    if (tour !== store.tour) store.tourAt = -1;
    store.tour = tour;
    mark();
    progress();
    return tour !== null;
  }

  return { render, mark, progress, follow };
})();
