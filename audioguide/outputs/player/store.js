/* audioguide's phone player, its state: the one place that holds what the page shows and what the
   visitor chose. The other scripts hold no state of their own (constants and elements only); they
   read and change this.

   The player's scripts are classic scripts, not ES modules: Chromium loads no module into a page
   opened from file://, and the player plays from file:// (a folder, a USB stick). Each script
   declares one name, its own (`store`, `ui`, `keypad` ...). index.html loads them in order: a script
   may take what it needs from an earlier one as it loads (`const { $, make } = ui;`), and calls a
   later one only from its functions, which run once app.js, the last, has started the page. */
"use strict";

const store = (() => {
  const SPEEDS = [0.75, 1, 1.25, 1.5];
  const LANGUAGE_KEY = "audioguide.language";
  const SPEED_KEY = "audioguide.speed";
  const OFFLINE_KEY = "audioguide.offline"; // "off" once the visitor has removed the saved audio
  const PERSIST_KEY = "audioguide.persist"; // persistent storage is asked for once

  function remembered(key) {
    try { return window.localStorage.getItem(key); } catch { return null; }
  }

  function remember(key, value) {
    try { window.localStorage.setItem(key, value); } catch { /* private mode: not remembered */ }
  }

  const primary = (code) => String(code || "").toLowerCase().split("-")[0];

  const state = {
    SPEEDS, LANGUAGE_KEY, SPEED_KEY, OFFLINE_KEY, PERSIST_KEY, remembered, remember, primary,

    data: window.AUDIOGUIDE, // player/data.js, written by the build
    byCode: {}, // the guide's languages by code
    language: null, // the language shown
    strings: null, // the interface's strings for it: {lang, strings, english} (player/strings-<lang>.js)
    current: null, // the stop open in the player
    media: null, // what plays it: the <audio>, or a sign-language stop's <video> (playback.js)
    track: null, // what plays of it: the stop, or one of its versions (an audio description ...)
    tour: null, // the tour followed (one of language.tours), or null: the whole guide in stop order
    tourAt: -1, // the place in the tour of the last of its stops opened (a stop off the tour keeps it)
    digits: "", // typed on the keypad
    speed: 1,
    fromFile: location.protocol === "file:",
    // the transcript: each cue's start and paragraph, the one highlighted, when the visitor last scrolled it
    cues: { starts: [], paragraphs: [], active: -1, scrolledAt: 0 },
    // the service worker, the language it keeps or was last asked about, and its last report
    offline: { worker: null, code: null, last: null, spokenAt: 0, timer: 0, keepTimer: 0 },

    /* Whether the page has a guide to show; if so, its languages indexed and the saved speed read. */
    load() {
      const data = state.data;
      if (!data || !Array.isArray(data.languages) || !data.languages.length) return false;
      data.guide = data.guide || {};
      for (const language of data.languages) {
        language.stops = language.stops || [];
        language.tours = language.tours || [];
        state.byCode[language.code] = language;
      }
      const speed = parseFloat(remembered(SPEED_KEY));
      if (SPEEDS.includes(speed)) state.speed = speed;
      return true;
    },

    /* The language to start in: the visitor's choice, else the browser's first the guide has. */
    defaultLanguage() {
      const chosen = remembered(LANGUAGE_KEY);
      if (chosen && state.byCode[chosen]) return chosen;
      const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
      const codes = state.data.languages.map((l) => l.code);
      for (const want of wanted) {
        const w = String(want || "").toLowerCase();
        const found = codes.find((c) => c.toLowerCase() === w) || codes.find((c) => primary(c) === primary(w));
        if (found) return found;
      }
      return codes[0];
    },

    /* The language to keep offline: the one the visitor chose, else the one shown. */
    keptCode() {
      const chosen = remembered(LANGUAGE_KEY);
      return chosen && state.byCode[chosen] ? chosen : state.language.code;
    },

    setSpeed(value) {
      state.speed = value;
      remember(SPEED_KEY, String(value));
    },

    find(number) {
      return state.language.stops.find((stop) => stop.stop === number) || null;
    },

    link(code, number, version) {
      return "#/" + encodeURIComponent(code) + "/" + number + (version ? "/" + encodeURIComponent(version) : "");
    },

    /* A tour's address, or one of its stops' (#/<lang>/tour/<id>/<stop>). */
    tourLink(code, id, number) {
      return "#/" + encodeURIComponent(code) + "/tour/" + encodeURIComponent(id) + (number === undefined ? "" : "/" + number);
    },

    /* The address of a stop (and of one of its versions): in the tour followed, if any. */
    here(number, version) {
      const code = state.language.code;
      return state.tour ? state.tourLink(code, state.tour.id, number) : state.link(code, number, version);
    },

    /* A tour's stops, in its order: the tracks the build chose for it (tours.tour_stops). */
    tourStops(tour) {
      return tour.tracks.map((i) => state.language.stops[i]).filter(Boolean);
    },

    /* What "next" and "previous" follow: the tour's stops, else every stop in stop order. */
    sequence() { return state.tour ? state.tourStops(state.tour) : state.language.stops; }
  };
  return state;
})();
