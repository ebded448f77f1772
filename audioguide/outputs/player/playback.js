/* audioguide's phone player: the stop open in the player and its audio: play and pause, seek, 10 s
   back and forward, the previous and next stop, the speed, and the phone's lock screen and headset
   buttons; in a tour, "next" and "previous" follow it. A sign-language stop is a video (with its own
   controls and its captions track), played by the same controls.
   Uses: store, ui, header, images, stops, tours, transcript. */
"use strict";

const playback = (() => {
  const { $, make, clear, t, setText, setLabel, tagLanguage, clock, say } = ui;
  const sound = $("audio");
  const video = $("video");
  /* What plays the open stop: the <audio>, or a sign-language stop's <video> (store.media). */
  function media() { return store.media || sound; }

  /* Open a stop: its main version, or the one named by options.version (an id of stop.versions; in a
     tour, by default the tour's version where the stop has one). */
  function open(stop, options = {}) {
    const { language } = store;
    // the version asked for (null: the main one), else in a tour the tour's, where the stop has it
    const wanted = options.version !== undefined ? options.version : store.tour ? store.tour.version : null;
    const track = (wanted && (stop.versions || []).find((v) => v.version === wanted)) || stop;
    store.current = stop;
    store.track = track;
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

    media().pause();
    for (const element of [sound, video]) {
      for (const old of element.querySelectorAll("track")) element.removeChild(old);
    }
    store.media = stop.video ? video : sound;
    showVideo(stop);
    media().src = track.file;
    media().defaultPlaybackRate = store.speed;
    media().playbackRate = store.speed;
    transcript.show(track, track.cues || [], "data");
    if (!store.fromFile && track.vtt && !stop.video) transcript.load(track);
    updateTime();
    stops.mark();
    refresh();
    header.render();
    setMediaSession(track);
    if (options.play) play();
    if (options.reveal) reveal();
  }

  /* A sign-language stop's video, its poster and its captions (shown: WebVTT made from its script, or
     the guide's own); the hint says "watch" for it. The other element is emptied. */
  function showVideo(stop) {
    const signed = Boolean(stop.video);
    $("now-video").hidden = !signed;
    $("listen-hint").hidden = signed;
    $("watch-hint").hidden = !signed;
    const idle = signed ? sound : video;
    idle.removeAttribute("src");
    idle.load();
    if (!signed) { video.removeAttribute("poster"); return; }
    video.poster = stop.video.poster;
    video.width = stop.video.width;
    video.height = stop.video.height;
    for (const old of video.textTracks) old.mode = "disabled"; // an earlier stop's, made below
    if (store.fromFile) {
      // Chromium loads no <track> file from file://: the same captions, made from data.js's cues
      const made = video.addTextTrack("captions", stop.title, stop.lang || store.language.code);
      for (const cue of stop.cues || []) made.addCue(new VTTCue(cue[0], cue[1], cue[2]));
      made.mode = "showing";
      return;
    }
    if (!stop.vtt) return;
    const track = document.createElement("track");
    track.kind = "captions";
    track.src = stop.vtt;
    track.srclang = stop.lang || store.language.code;
    track.label = stop.title;
    track.default = true;
    video.appendChild(track);
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
        open(stop, { version: track === version ? null : version.version, play: !media().paused && !media().ended });
        if (box.children[at]) box.children[at].focus(); // the same button, made again
      });
      box.appendChild(b);
    }
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
    setHash(store.here(stop.stop, store.track && store.track !== stop ? store.track.version : null));
  }

  function close() {
    const wasOpen = store.current !== null;
    store.current = null;
    store.track = null;
    media().pause();
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
    const started = media().play();
    if (started && started.catch) {
      started.catch((error) => {
        if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") say("error");
      });
    }
  }

  function duration() {
    if (isFinite(media().duration) && media().duration > 0) return media().duration;
    return store.track ? store.track.duration : 0;
  }

  function updateTime() {
    const seek = $("seek");
    const total = duration();
    const now = Math.min(media().currentTime || 0, total || 0);
    seek.max = String(Math.max(1, total));
    seek.value = String(now);
    seek.setAttribute("aria-valuetext", t("of", { a: clock(now), b: clock(total, true) }));
    $("elapsed").textContent = clock(now);
    $("total").textContent = clock(total, true);
    transcript.highlight();
  }

  function updateToggle() {
    const playing = !media().paused && !media().ended;
    const toggle = $("toggle");
    toggle.classList.toggle("playing", playing);
    setLabel(toggle, playing ? "pause" : "play");
  }

  function skip(seconds) {
    if (!store.current) return;
    media().currentTime = Math.max(0, Math.min(duration(), (media().currentTime || 0) + seconds));
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
    media().defaultPlaybackRate = value;
    media().playbackRate = value;
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
      pause: () => media().pause(),
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
      if (media().paused || media().ended) play(); else media().pause();
    });
    $("back").addEventListener("click", () => skip(-10));
    $("forward").addEventListener("click", () => skip(10));
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    const seek = $("seek");
    seek.addEventListener("input", () => {
      if (!store.current) return;
      media().currentTime = Number(seek.value);
      updateTime();
    });
    for (const element of [sound, video]) {
      const current = () => element === media();
      for (const name of ["timeupdate", "seeked", "loadedmetadata", "durationchange"]) {
        element.addEventListener(name, () => { if (current()) updateTime(); });
      }
      for (const name of ["play", "pause", "ended", "emptied"]) {
        element.addEventListener(name, () => { if (current()) updateToggle(); });
      }
      element.addEventListener("error", () => { if (store.current && current() && element.src) say("error"); });
    }
    mediaActions();
    updateToggle();
  }

  return { open, close, refresh, play, reveal, updateTime, renderSpeeds, start, media };
})();
