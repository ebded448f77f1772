/* audioguide's phone player: starts the page, switches its language, and follows deep links
   (#/<lang>/<stop>, #/<lang>/<stop>/<version>, #/<stop>, #/<lang>, a tour's #/<lang>/tour/<id> and
   #/<lang>/tour/<id>/<stop>). Loaded last: every other script of the player is there.
   Uses: store, ui, header, stops, tours, transcript, playback, keypad, offline. */
"use strict";

const app = (() => {
  const { $, setText, setLabel, say } = ui;

  function setLanguage(code, remember) {
    const audio = playback.media();
    const wasPlaying = store.current && !audio.paused;
    const number = store.current ? store.current.stop : null;
    const version = store.track && store.track !== store.current ? store.track.version : null; // kept where it is
    const touring = store.tour ? store.tour.id : null;
    const language = (store.language = store.byCode[code]);
    store.tour = touring !== null ? language.tours.find((tour) => tour.id === touring) || null : null;
    store.strings = ui.stringsOf(language);
    if (remember) store.remember(store.LANGUAGE_KEY, code);
    document.documentElement.lang = code;
    document.documentElement.dir = language.dir === "rtl" ? "rtl" : "ltr";
    $("language").value = code;

    for (const el of document.querySelectorAll("[data-t]")) setText(el, el.getAttribute("data-t"));
    for (const el of document.querySelectorAll("[data-t-label]")) setLabel(el, el.getAttribute("data-t-label"));

    header.render();
    playback.renderSpeeds();
    stops.render();
    tours.render();
    setText($("stop-count"), "stopCount", { count: language.stops.length });
    offline.render(true);
    say("", null, true);
    const again = number !== null ? store.find(number) : null;
    if (again) {
      playback.open(again, { play: wasPlaying, version });
    } else {
      playback.close();
      if (number !== null) say("unknown", { n: number, language: language.native || language.code });
    }
  }

  function route(initial) {
    const inTour = /^#\/([^/]+?)\/tour\/([^/]+?)(?:\/(\d+))?\/?$/.exec(location.hash);
    if (inTour) {
      routeTour(decodeURIComponent(inTour[1]), decodeURIComponent(inTour[2]), inTour[3], initial);
      return;
    }
    const match = /^#\/([^/]+?)(?:\/(\d+)(?:\/([a-z0-9-]+))?)?\/?$/.exec(location.hash);
    if (!match) return;
    if (store.tour) {
      tours.follow(null); // an address outside a tour: the whole guide
      playback.refresh();
    }
    let first = decodeURIComponent(match[1]);
    let number = match[2];
    if (/^\d+$/.test(first) && number === undefined) {
      number = first;
      first = null;
    }
    const found = first ? store.data.languages.find((l) => l.code.toLowerCase() === first.toLowerCase()) : null;
    if (found && found.code !== store.language.code) setLanguage(found.code, false);
    if (number === undefined) return;
    const stop = store.find(parseInt(number, 10));
    if (!stop) {
      say("unknown", { n: parseInt(number, 10), language: store.language.native || store.language.code });
      return;
    }
    const version = match[3] || null; // one of the stop's versions (an audio description ...)
    if (store.current === stop && (store.track === stop ? null : store.track.version) === version) return;
    const gesture = navigator.userActivation ? navigator.userActivation.isActive : false;
    playback.open(stop, { play: !initial && gesture, reveal: !initial, version });
  }

  /* #/<lang>/tour/<id>[/<stop>]: follow the tour, at that stop (any stop: the keypad plays any number)
     or at its first. */
  function routeTour(code, id, number, initial) {
    const found = store.data.languages.find((l) => l.code.toLowerCase() === code.toLowerCase());
    if (found && found.code !== store.language.code) setLanguage(found.code, false);
    if (!tours.follow(id)) {
      say("unknownTour", { tour: id });
      return;
    }
    const first = store.tourStops(store.tour)[0];
    const stop = number === undefined ? first : store.find(parseInt(number, 10));
    if (!stop) {
      say("unknown", { n: parseInt(number, 10), language: store.language.native || store.language.code });
      return;
    }
    if (store.current === stop) {
      playback.refresh(); // the same stop, now in the tour: its place and buttons
      return;
    }
    const gesture = navigator.userActivation ? navigator.userActivation.isActive : false;
    playback.open(stop, { play: !initial && gesture && number !== undefined, reveal: !initial });
  }

  async function start() {
    if (!store.load()) { // no guide: the page's own words say so
      const note = $("no-guide");
      note.hidden = false;
      $("intro").replaceChildren(note);
      $("keypad-section").hidden = true;
      $("stops-section").hidden = true;
      return;
    }
    await ui.loadStrings(store.data.languages.map((l) => l.ui));
    header.start();
    setLanguage(store.defaultLanguage(), false);
    keypad.start();
    playback.start();
    transcript.start();
    window.addEventListener("hashchange", () => route(false));
    route(true);
    offline.start();
  }

  return { setLanguage, start };
})();

app.start();
