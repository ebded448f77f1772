/* audioguide's phone player: the stop open in the player and its audio: play and pause, seek, 10 s
   back and forward, the previous and next stop, the speed, and the phone's lock screen and headset
   buttons. Uses: store, ui, header, images, stops, transcript. */
"use strict";

const playback = (() => {
  const { $, make, clear, t, setText, setLabel, tagLanguage, clock, say } = ui;
  const audio = $("audio");

  /* Open a stop: its main version, or the one named by options.version (an id of stop.versions). */
  function open(stop, options = {}) {
    const { language } = store;
    const track = (options.version && (stop.versions || []).find((v) => v.version === options.version)) || stop;
    store.current = stop;
    store.track = track;
    const index = language.stops.indexOf(stop);
    $("intro").hidden = true;
    $("player").hidden = false;
    $("now").setAttribute("aria-labelledby", "now-title");
    setText($("now-number"), "stop", { n: stop.stop });
    const title = $("now-title");
    title.textContent = track.title;
    tagLanguage(title, stop.lang || language.code);
    renderVersions(stop, track);
    const note = $("now-note");
    note.hidden = !stop.fallback;
    if (stop.fallback) setText(note, "fallback");
    images.show(stop);
    $("prev").disabled = index <= 0;
    $("next").disabled = index < 0 || index >= language.stops.length - 1;

    for (const old of audio.querySelectorAll("track")) audio.removeChild(old);
    audio.src = track.file;
    audio.defaultPlaybackRate = store.speed;
    audio.playbackRate = store.speed;
    transcript.show(track, track.cues || [], "data");
    if (!store.fromFile && track.vtt) transcript.load(track);
    updateTime();
    stops.mark();
    header.render();
    setMediaSession(track);
    setHash(store.link(language.code, stop.stop, track === stop ? null : track.version));
    if (options.play) play();
    if (options.reveal) reveal();
  }

  /* A button for each other version of the stop (pressed: the one playing), which switches to it, or
     back to the main version when pressed again; an audio description's with its symbol. */
  function renderVersions(stop, track) {
    const box = $("now-versions");
    clear(box);
    const versions = stop.versions || [];
    box.hidden = !versions.length;
    for (const version of versions) {
      const b = make("button", "version");
      b.type = "button";
      if (version.kind === "audio-description") b.appendChild(ui.adSymbol(false));
      const label = make("span", "", version.label || version.version);
      tagLanguage(label, stop.lang || store.language.code);
      b.appendChild(label);
      b.setAttribute("aria-pressed", String(track === version));
      b.addEventListener("click", () => {
        const at = Array.prototype.indexOf.call(box.children, b);
        open(stop, { version: track === version ? null : version.version, play: !audio.paused && !audio.ended });
        if (box.children[at]) box.children[at].focus(); // the same button, made again
      });
      box.appendChild(b);
    }
  }

  function close() {
    const wasOpen = store.current !== null;
    store.current = null;
    store.track = null;
    audio.pause();
    $("player").hidden = true;
    $("intro").hidden = false;
    $("now").setAttribute("aria-labelledby", "intro-title");
    if (wasOpen) setHash("#/" + encodeURIComponent(store.language.code));
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
    return store.track ? store.track.duration : 0;
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
    const { current, language } = store;
    if (!current) return;
    const index = language.stops.indexOf(current) + offset;
    if (index >= 0 && index < language.stops.length) open(language.stops[index], { play: true });
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

  return { open, close, play, reveal, updateTime, renderSpeeds, start };
})();
