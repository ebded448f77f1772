/* audioguide's phone player: the stop open in the player and its audio: play and pause, seek, 10 s
   back and forward, the previous and next stop, the speed, and the phone's lock screen and headset
   buttons; in a tour, "next" and "previous" follow it. Uses: store, ui, header, images, stops, tours, transcript. */
"use strict";

const playback = (() => {
  const { $, make, clear, t, setText, setLabel, tagLanguage, clock, say } = ui;
  const audio = $("audio");

  function open(stop, options = {}) {
    const { language } = store;
    store.current = stop;
    $("intro").hidden = true;
    $("player").hidden = false;
    $("now").setAttribute("aria-labelledby", "now-title");
    setText($("now-number"), "stop", { n: stop.stop });
    const title = $("now-title");
    title.textContent = stop.title;
    tagLanguage(title, stop.lang || language.code);
    const note = $("now-note");
    note.hidden = !stop.fallback;
    if (stop.fallback) setText(note, "fallback");
    images.show(stop);

    for (const old of audio.querySelectorAll("track")) audio.removeChild(old);
    audio.src = stop.file;
    audio.defaultPlaybackRate = store.speed;
    audio.playbackRate = store.speed;
    transcript.show(stop, stop.cues || [], "data");
    if (!store.fromFile && stop.vtt) transcript.load(stop);
    updateTime();
    stops.mark();
    refresh();
    header.render();
    setMediaSession(stop);
    if (options.play) play();
    if (options.reveal) reveal();
  }

  /* The previous and next buttons, the place in the tour and the address, for the stop open in the
     sequence followed (the tour's, or every stop's): after open(), and when a tour is entered or left. */
  function refresh() {
    const stop = store.current;
    if (!stop) return;
    const sequence = store.sequence();
    const index = sequence.indexOf(stop);
    if (store.tour && index >= 0) store.tourAt = index;
    const at = index >= 0 ? index : store.tour ? store.tourAt : -1; // a stop off the tour: "next" goes back to it
    $("prev").disabled = index < 0 ? !(store.tour && store.tourAt >= 0) : index === 0;
    $("next").disabled = (index < 0 && !store.tour) || at >= sequence.length - 1;
    tours.progress();
    setHash(store.here(stop.stop));
  }

  function close() {
    const wasOpen = store.current !== null;
    store.current = null;
    audio.pause();
    $("player").hidden = true;
    $("intro").hidden = false;
    $("now").setAttribute("aria-labelledby", "intro-title");
    if (wasOpen) setHash(store.tour ? store.tourLink(store.language.code, store.tour.id)
      : "#/" + encodeURIComponent(store.language.code));
    tours.progress();
    header.render();
  }

  function setHash(hash) {
    if (location.hash === hash) return;
    try { history.replaceState(null, "", hash); } catch { location.hash = hash; }
  }

  /* The player scrolled into view, unless it is in the top half of the screen already. */
  function reveal() {
    const top = $("now").getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.5) {
      $("now").scrollIntoView({ block: "start", behavior: transcript.reducedMotion.matches ? "auto" : "smooth" });
    }
  }

  function play() {
    if (!store.current) return;
    const started = audio.play();
    if (started && started.catch) {
      started.catch((error) => {
        if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") say("error");
      });
    }
  }

  function duration() {
    if (isFinite(audio.duration) && audio.duration > 0) return audio.duration;
    return store.current ? store.current.duration : 0;
  }

  function updateTime() {
    const seek = $("seek");
    const total = duration();
    const now = Math.min(audio.currentTime || 0, total || 0);
    seek.max = String(Math.max(1, total));
    seek.value = String(now);
    seek.setAttribute("aria-valuetext", t("of", { a: clock(now), b: clock(total, true) }));
    $("elapsed").textContent = clock(now);
    $("total").textContent = clock(total, true);
    transcript.highlight();
  }

  function updateToggle() {
    const playing = !audio.paused && !audio.ended;
    const toggle = $("toggle");
    toggle.classList.toggle("playing", playing);
    setLabel(toggle, playing ? "pause" : "play");
  }

  function skip(seconds) {
    if (!store.current) return;
    audio.currentTime = Math.max(0, Math.min(duration(), (audio.currentTime || 0) + seconds));
  }

  function step(offset) {
    const { current } = store;
    if (!current) return;
    const sequence = store.sequence();
    let index = sequence.indexOf(current);
    if (index < 0 && store.tour) index = offset > 0 ? store.tourAt : store.tourAt + 1; // back to the tour
    index += offset;
    if (index >= 0 && index < sequence.length) open(sequence[index], { play: true });
  }

  /* The speed buttons, their numbers written as the language writes them. */
  function renderSpeeds() {
    const box = $("speeds");
    clear(box);
    let format;
    try { format = new Intl.NumberFormat(store.language.code); } catch { format = new Intl.NumberFormat("en"); }
    for (const value of store.SPEEDS) {
      const b = make("button", "", format.format(value) + "×");
      b.type = "button";
      b.setAttribute("aria-pressed", String(value === store.speed));
      b.addEventListener("click", () => setSpeed(value));
      box.appendChild(b);
    }
  }

  function setSpeed(value) {
    store.setSpeed(value);
    audio.defaultPlaybackRate = value;
    audio.playbackRate = value;
    $("speeds").querySelectorAll("button").forEach((b, i) => b.setAttribute("aria-pressed",
                                                                           String(store.SPEEDS[i] === value)));
  }

  function setMediaSession(stop) {
    if (!("mediaSession" in navigator) || typeof window.MediaMetadata !== "function") return;
    const { data, language } = store;
    try {
      const artwork = data.guide.cover ? [{ src: new URL(data.guide.cover, location.href).href }] : [];
      navigator.mediaSession.metadata = new window.MediaMetadata({
        title: stop.title, artist: data.guide.publisher || "", album: language.title || "", artwork
      });
    } catch { /* optional */ }
  }

  function mediaActions() {
    if (!("mediaSession" in navigator)) return;
    const actions = {
      play,
      pause: () => audio.pause(),
      seekbackward: () => skip(-10),
      seekforward: () => skip(10),
      previoustrack: () => step(-1),
      nexttrack: () => step(1)
    };
    for (const [name, action] of Object.entries(actions)) {
      try { navigator.mediaSession.setActionHandler(name, action); } catch { /* unsupported */ }
    }
  }

  function start() {
    $("toggle").addEventListener("click", () => {
      if (audio.paused || audio.ended) play(); else audio.pause();
    });
    $("back").addEventListener("click", () => skip(-10));
    $("forward").addEventListener("click", () => skip(10));
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    const seek = $("seek");
    seek.addEventListener("input", () => {
      if (!store.current) return;
      audio.currentTime = Number(seek.value);
      updateTime();
    });
    for (const name of ["timeupdate", "seeked", "loadedmetadata", "durationchange"]) {
      audio.addEventListener(name, updateTime);
    }
    for (const name of ["play", "pause", "ended", "emptied"]) audio.addEventListener(name, updateToggle);
    audio.addEventListener("error", () => { if (store.current) say("error"); });
    mediaActions();
    updateToggle();
  }

  return { open, close, refresh, play, reveal, updateTime, renderSpeeds, start };
})();
