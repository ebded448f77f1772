/* audioguide's offline player. Reads window.AUDIOGUIDE (player/data.js, written by the build) and
   builds the page with createElement and textContent only: every string from the guide is text. */
(function () {
  "use strict";

  var STRINGS = {
    en: {
      welcome: "Welcome",
      intro: "Type the number shown beside an exhibit on the keypad, or choose a stop from the list.",
      language: "Language",
      keypad: "Type a stop number",
      number: "Stop number",
      "delete": "Delete last digit",
      go: "Play",
      keyboardHint: "On a keyboard: type the number, press Enter to play and Backspace to delete a digit.",
      empty: "Type a stop number first.",
      unknown: "There is no stop {n} in {language}.",
      stops: "All stops",
      stop: "Stop {n}",
      play: "Play",
      pause: "Pause",
      back: "Back 10 seconds",
      forward: "Forward 10 seconds",
      previous: "Previous stop",
      next: "Next stop",
      speed: "Speed",
      position: "Position",
      of: "{a} of {b}",
      transcript: "Transcript",
      transcriptHint: "Select a passage to listen from there.",
      fallback: "This stop is not translated yet: you will hear it in its original language.",
      opened: "Stop {n}: {title}",
      error: "This recording could not be played.",
      duration: "Duration",
      noGuide: "This guide has no recordings yet.",
      offline: "Listen offline",
      offlineHint: "The recordings in your language are kept on this device, so the guide plays without a connection.",
      offlineSaving: "Saving {language} for offline use: {a} of {b}",
      offlineSaved: "{language} is saved on this device.",
      offlineFailed: "{language} is not fully saved ({a} of {b}). Connect to the network and try again.",
      offlineNone: "No recordings are saved on this device.",
      offlineUsed: "Space used on this device: {size}",
      offlineSave: "Save {language} for offline use",
      offlineRemove: "Remove saved audio"
    },
    az: {
      welcome: "Xoş gəlmisiniz",
      intro: "Eksponatın yanındakı nömrəni yığın və ya siyahıdan seçin.",
      language: "Dil",
      keypad: "Nömrəni yığın",
      number: "Nömrə",
      "delete": "Son rəqəmi sil",
      go: "Dinlə",
      keyboardHint: "Klaviaturada: nömrəni yazın, dinləmək üçün Enter, rəqəmi silmək üçün Backspace düyməsini basın.",
      empty: "Əvvəlcə nömrəni yığın.",
      unknown: "Bu bələdçidə {n} nömrəsi yoxdur.",
      stops: "Bələdçinin məzmunu",
      stop: "№ {n}",
      play: "Dinlə",
      pause: "Fasilə",
      back: "10 saniyə geri",
      forward: "10 saniyə irəli",
      previous: "Əvvəlki nömrə",
      next: "Növbəti nömrə",
      speed: "Sürət",
      position: "Mövqe",
      of: "{a}, cəmi {b}",
      transcript: "Mətn",
      transcriptHint: "Həmin yerdən dinləmək üçün abzası seçin.",
      fallback: "Bu hissə hələ tərcümə olunmayıb, orijinal dildə səslənir.",
      opened: "№ {n}: {title}",
      error: "Bu səs yazısını oxutmaq mümkün olmadı.",
      duration: "Müddət",
      noGuide: "Bu bələdçidə hələ səs yazısı yoxdur.",
      offline: "Oflayn dinləmə",
      offlineHint: "Dilinizdəki səs yazıları bu cihazda saxlanılır, beləliklə bələdçi bağlantı olmadan da işləyir.",
      offlineSaving: "{language}: oflayn dinləmək üçün saxlanılır — {a}, cəmi {b}",
      offlineSaved: "{language}: səs yazıları bu cihazda saxlanılıb.",
      offlineFailed: "{language}: səs yazılarının hamısı saxlanılmayıb ({a}, cəmi {b}). Şəbəkəyə qoşulun və yenidən cəhd edin.",
      offlineNone: "Bu cihazda saxlanılmış səs yazısı yoxdur.",
      offlineUsed: "Bu cihazda tutduğu yer: {size}",
      offlineSave: "Oflayn dinləmək üçün saxla: {language}",
      offlineRemove: "Saxlanılmış səsləri sil"
    },
    ru: {
      welcome: "Добро пожаловать",
      intro: "Наберите номер, указанный рядом с экспонатом, или выберите рассказ из списка.",
      language: "Язык",
      keypad: "Наберите номер",
      number: "Номер",
      "delete": "Стереть последнюю цифру",
      go: "Слушать",
      keyboardHint: "С клавиатуры: наберите номер, Enter — слушать, Backspace — стереть цифру.",
      empty: "Сначала наберите номер.",
      unknown: "В аудиогиде нет номера {n}.",
      stops: "Содержание",
      stop: "№ {n}",
      play: "Слушать",
      pause: "Пауза",
      back: "Назад на 10 секунд",
      forward: "Вперёд на 10 секунд",
      previous: "Предыдущий рассказ",
      next: "Следующий рассказ",
      speed: "Скорость",
      position: "Время",
      of: "{a} из {b}",
      transcript: "Текст",
      transcriptHint: "Выберите абзац, чтобы слушать с этого места.",
      fallback: "Этот рассказ ещё не переведён и звучит на языке оригинала.",
      opened: "№ {n}: {title}",
      error: "Не удалось воспроизвести запись.",
      duration: "Длительность",
      noGuide: "В этом аудиогиде пока нет записей.",
      offline: "Слушать офлайн",
      offlineHint: "Записи на вашем языке хранятся на этом устройстве, и аудиогид работает без подключения к сети.",
      offlineSaving: "{language}: сохраняем записи для прослушивания офлайн — {a} из {b}",
      offlineSaved: "{language}: записи сохранены на этом устройстве.",
      offlineFailed: "{language}: сохранены не все записи ({a} из {b}). Подключитесь к сети и попробуйте снова.",
      offlineNone: "На этом устройстве нет сохранённых записей.",
      offlineUsed: "Занято на устройстве: {size}",
      offlineSave: "Сохранить для прослушивания офлайн: {language}",
      offlineRemove: "Удалить сохранённые записи"
    },
    tr: {
      welcome: "Hoş geldiniz",
      intro: "Eserin yanındaki numarayı tuşlayın ya da listeden seçin.",
      language: "Dil",
      keypad: "Numarayı tuşlayın",
      number: "Numara",
      "delete": "Son rakamı sil",
      go: "Dinle",
      keyboardHint: "Klavyeyle: numarayı yazın; dinlemek için Enter, rakam silmek için Backspace tuşuna basın.",
      empty: "Önce bir numara tuşlayın.",
      unknown: "Bu rehberde {n} numaralı kayıt yok.",
      stops: "İçindekiler",
      stop: "No. {n}",
      play: "Dinle",
      pause: "Duraklat",
      back: "10 saniye geri",
      forward: "10 saniye ileri",
      previous: "Önceki kayıt",
      next: "Sonraki kayıt",
      speed: "Hız",
      position: "Konum",
      of: "{a}, toplam {b}",
      transcript: "Metin",
      transcriptHint: "Oradan dinlemek için bir paragraf seçin.",
      fallback: "Bu kayıt henüz çevrilmedi; özgün dilinde dinleyeceksiniz.",
      opened: "No. {n}: {title}",
      error: "Bu kayıt çalınamadı.",
      duration: "Süre",
      noGuide: "Bu rehberde henüz kayıt yok.",
      offline: "Çevrimdışı dinleme",
      offlineHint: "Dilinizdeki kayıtlar bu cihazda saklanır; böylece rehber bağlantı olmadan da çalışır.",
      offlineSaving: "{language}: çevrimdışı dinlemek için kaydediliyor — {a}, toplam {b}",
      offlineSaved: "{language}: kayıtlar bu cihaza kaydedildi.",
      offlineFailed: "{language}: kayıtların hepsi kaydedilemedi ({a}, toplam {b}). Ağa bağlanıp yeniden deneyin.",
      offlineNone: "Bu cihazda kaydedilmiş ses yok.",
      offlineUsed: "Bu cihazda kullanılan alan: {size}",
      offlineSave: "Çevrimdışı dinlemek için kaydet: {language}",
      offlineRemove: "Kaydedilen sesleri sil"
    }
  };
  var SPEEDS = [0.75, 1, 1.25, 1.5];
  var MAX_DIGITS = 4;
  var LANGUAGE_KEY = "audioguide.language";
  var SPEED_KEY = "audioguide.speed";

  var $ = function (id) { return document.getElementById(id); };
  var audio = $("audio");
  var seek = $("seek");
  var cueBox = $("cues");
  var display = $("display");
  var message = $("message");
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var fromFile = location.protocol === "file:";

  var data = window.AUDIOGUIDE;
  var byCode = {};
  var language = null; // the language shown
  var uiCode = "en"; // the language of the interface's own strings
  var current = null; // the stop open in the player
  var digits = "";
  var cueStarts = [];
  var cueEls = [];
  var active = -1;
  var scrolledAt = 0;
  var speed = 1;

  /* Small helpers */

  function primary(code) { return String(code || "").toLowerCase().split("-")[0]; }

  function t(key, vars) {
    var table = STRINGS[uiCode] || STRINGS.en;
    var text = table[key] !== undefined ? table[key] : STRINGS.en[key];
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return vars && vars[name] !== undefined ? String(vars[name]) : all;
    });
  }

  // The interface's strings are tagged with their language when it is not the page's (English
  // standing in for a language the table does not have, left to right in a right-to-left page).
  function tagUi(el) {
    if (language && uiCode !== primary(language.code)) {
      el.lang = uiCode;
      el.dir = "ltr";
    } else {
      el.removeAttribute("lang");
      el.removeAttribute("dir");
    }
  }

  function setText(el, key, vars) { el.textContent = t(key, vars); tagUi(el); }

  function setLabel(el, key, vars) { el.setAttribute("aria-label", t(key, vars)); tagUi(el); }

  function make(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function tagLanguage(el, code) {
    el.lang = code;
    var other = byCode[code];
    el.dir = other && other.dir === "rtl" ? "rtl" : "ltr";
  }

  function clock(seconds, round) {
    var s = Math.max(0, round ? Math.round(seconds || 0) : Math.floor(seconds || 0));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
  }

  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: not remembered */ }
  }

  function say(text, info) {
    message.classList.toggle("info", !!info);
    tagUi(message);
    if (message.textContent === text) message.textContent = "";
    message.textContent = text;
  }

  function find(number) {
    for (var i = 0; i < language.stops.length; i++) {
      if (language.stops[i].stop === number) return language.stops[i];
    }
    return null;
  }

  function link(code, number) { return "#/" + encodeURIComponent(code) + "/" + number; }

  /* The language */

  function defaultLanguage() {
    var remembered = stored(LANGUAGE_KEY);
    if (remembered && byCode[remembered]) return remembered;
    var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
    var codes = data.languages.map(function (l) { return l.code; });
    for (var i = 0; i < wanted.length; i++) {
      var w = String(wanted[i] || "").toLowerCase();
      for (var j = 0; j < codes.length; j++) if (codes[j].toLowerCase() === w) return codes[j];
      for (j = 0; j < codes.length; j++) if (primary(codes[j]) === primary(w)) return codes[j];
    }
    return codes[0];
  }

  function setLanguage(code, remember) {
    var wasPlaying = current && !audio.paused;
    var number = current ? current.stop : null;
    language = byCode[code];
    uiCode = STRINGS[primary(code)] ? primary(code) : "en";
    if (remember) store(LANGUAGE_KEY, code);
    document.documentElement.lang = code;
    document.documentElement.dir = language.dir === "rtl" ? "rtl" : "ltr";
    $("language").value = code;

    var labelled = document.querySelectorAll("[data-t]");
    for (var i = 0; i < labelled.length; i++) setText(labelled[i], labelled[i].getAttribute("data-t"));
    labelled = document.querySelectorAll("[data-t-label]");
    for (i = 0; i < labelled.length; i++) setLabel(labelled[i], labelled[i].getAttribute("data-t-label"));

    renderHeader();
    renderSpeeds();
    renderStops();
    renderOffline(true);
    say("", true);
    var again = number !== null ? find(number) : null;
    if (again) {
      openStop(again, { play: wasPlaying });
    } else {
      closeStop();
      if (number !== null) say(t("unknown", { n: number, language: language.name || language.code }));
    }
  }

  function renderHeader() {
    var title = language.title || data.guide.title || "";
    var h1 = $("guide-title");
    h1.textContent = title;
    tagLanguage(h1, language.code);
    var publisher = $("publisher");
    publisher.textContent = data.guide.publisher || "";
    publisher.hidden = !data.guide.publisher;
    tagLanguage(publisher, data.languages[0].code); // the guide's source language comes first
    var cover = $("cover");
    if (data.guide.cover) {
      cover.alt = title;
      tagLanguage(cover, language.code);
    }
    document.title = current ? current.title + " · " + title : title;
  }

  function renderLanguages() {
    var select = $("language");
    data.languages.forEach(function (l) {
      var option = make("option", "", l.native || l.name || l.code);
      option.value = l.code;
      option.lang = l.code;
      option.dir = l.dir === "rtl" ? "rtl" : "ltr";
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      setLanguage(select.value, true);
      languageChosen(select.value);
    });
    $("language-box").hidden = data.languages.length < 2;
  }

  function renderStops() {
    var list = $("stops");
    clear(list);
    language.stops.forEach(function (stop) {
      var a = make("a");
      a.href = link(language.code, stop.stop);
      a.appendChild(make("span", "stop-number", String(stop.stop)));
      var title = make("span", "stop-title", stop.title);
      tagLanguage(title, stop.lang || language.code);
      if (stop.fallback && byCode[stop.lang]) {
        var lang = make("span", "stop-lang", byCode[stop.lang].native || byCode[stop.lang].name);
        title.appendChild(lang);
      }
      a.appendChild(title);
      var duration = make("span", "stop-duration");
      var label = make("span", "visually-hidden", t("duration") + " ");
      tagUi(label);
      duration.appendChild(label);
      duration.appendChild(document.createTextNode(clock(stop.duration, true)));
      a.appendChild(duration);
      a.addEventListener("click", function (event) {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        if (current === stop) { play(); reveal(); } else openStop(stop, { play: true, reveal: true });
      });
      if (current && current.stop === stop.stop) a.setAttribute("aria-current", "true");
      var li = make("li");
      li.appendChild(a);
      list.appendChild(li);
    });
  }

  function markListed() {
    var links = $("stops").querySelectorAll("a");
    for (var i = 0; i < links.length; i++) {
      if (current && links[i].getAttribute("href") === link(language.code, current.stop)) {
        links[i].setAttribute("aria-current", "true");
      } else {
        links[i].removeAttribute("aria-current");
      }
    }
  }

  /* Playback speed */

  function renderSpeeds() {
    var box = $("speeds");
    clear(box);
    var format;
    try { format = new Intl.NumberFormat(language.code); } catch (e) { format = new Intl.NumberFormat("en"); }
    SPEEDS.forEach(function (value) {
      var b = make("button", "", format.format(value) + "×");
      b.type = "button";
      b.setAttribute("aria-pressed", String(value === speed));
      b.addEventListener("click", function () { setSpeed(value); });
      box.appendChild(b);
    });
  }

  function setSpeed(value) {
    speed = value;
    audio.defaultPlaybackRate = value;
    audio.playbackRate = value;
    store(SPEED_KEY, String(value));
    var buttons = $("speeds").querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].setAttribute("aria-pressed", String(SPEEDS[i] === value));
  }

  /* The stop in the player */

  function openStop(stop, options) {
    options = options || {};
    current = stop;
    var index = language.stops.indexOf(stop);
    $("intro").hidden = true;
    $("player").hidden = false;
    $("now").setAttribute("aria-labelledby", "now-title");
    setText($("now-number"), "stop", { n: stop.stop });
    var title = $("now-title");
    title.textContent = stop.title;
    tagLanguage(title, stop.lang || language.code);
    var note = $("now-note");
    note.hidden = !stop.fallback;
    if (stop.fallback) setText(note, "fallback");
    $("prev").disabled = index <= 0;
    $("next").disabled = index < 0 || index >= language.stops.length - 1;

    var old = audio.querySelectorAll("track");
    for (var i = 0; i < old.length; i++) audio.removeChild(old[i]);
    audio.src = stop.file;
    audio.defaultPlaybackRate = speed;
    audio.playbackRate = speed;
    showCues(stop, stop.cues || [], "data");
    if (!fromFile && stop.vtt) loadTrack(stop);
    updateTime();
    markListed();
    renderHeader();
    setMediaSession(stop);
    setHash(link(language.code, stop.stop));
    if (options.play) play();
    if (options.reveal) reveal();
  }

  function closeStop() {
    var wasOpen = current !== null;
    current = null;
    audio.pause();
    $("player").hidden = true;
    $("intro").hidden = false;
    $("now").setAttribute("aria-labelledby", "intro-title");
    if (wasOpen) setHash("#/" + encodeURIComponent(language.code));
    renderHeader();
  }

  function setHash(hash) {
    if (location.hash === hash) return;
    try { history.replaceState(null, "", hash); } catch (e) { location.hash = hash; }
  }

  function reveal() {
    var top = $("now").getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.5) {
      $("now").scrollIntoView({ block: "start", behavior: reducedMotion.matches ? "auto" : "smooth" });
    }
  }

  function play() {
    if (!current) return;
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function (error) {
        if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") say(t("error"));
      });
    }
  }

  function duration() {
    if (isFinite(audio.duration) && audio.duration > 0) return audio.duration;
    return current ? current.duration : 0;
  }

  function updateTime() {
    var total = duration();
    var now = Math.min(audio.currentTime || 0, total || 0);
    seek.max = String(Math.max(1, total));
    seek.value = String(now);
    seek.setAttribute("aria-valuetext", t("of", { a: clock(now), b: clock(total, true) }));
    $("elapsed").textContent = clock(now);
    $("total").textContent = clock(total, true);
    highlight();
  }

  function updateToggle() {
    var playing = !audio.paused && !audio.ended;
    var toggle = $("toggle");
    toggle.classList.toggle("playing", playing);
    setLabel(toggle, playing ? "pause" : "play");
  }

  function skip(seconds) {
    if (!current) return;
    audio.currentTime = Math.max(0, Math.min(duration(), (audio.currentTime || 0) + seconds));
  }

  function step(offset) {
    if (!current) return;
    var index = language.stops.indexOf(current) + offset;
    if (index >= 0 && index < language.stops.length) openStop(language.stops[index], { play: true });
  }

  function setMediaSession(stop) {
    if (!("mediaSession" in navigator) || typeof window.MediaMetadata !== "function") return;
    try {
      var artwork = data.guide.cover ? [{ src: new URL(data.guide.cover, location.href).href }] : [];
      navigator.mediaSession.metadata = new window.MediaMetadata({
        title: stop.title, artist: data.guide.publisher || "", album: language.title || "", artwork: artwork
      });
    } catch (e) { /* optional */ }
  }

  function mediaActions() {
    if (!("mediaSession" in navigator)) return;
    var actions = {
      play: play,
      pause: function () { audio.pause(); },
      seekbackward: function () { skip(-10); },
      seekforward: function () { skip(10); },
      previoustrack: function () { step(-1); },
      nexttrack: function () { step(1); }
    };
    Object.keys(actions).forEach(function (name) {
      try { navigator.mediaSession.setActionHandler(name, actions[name]); } catch (e) { /* unsupported */ }
    });
  }

  /* The transcript: one paragraph per cue, the one being spoken highlighted */

  function showCues(stop, cues, source) {
    clear(cueBox);
    cueStarts = [];
    cueEls = [];
    active = -1;
    cues.forEach(function (cue) {
      var p = make("p", "cue");
      tagLanguage(p, stop.lang || language.code);
      var b = make("button", "", cue[2]);
      b.type = "button";
      var start = Number(cue[0]) || 0;
      b.addEventListener("click", function () {
        audio.currentTime = start + 0.01;
        updateTime();
        play();
      });
      p.appendChild(b);
      cueBox.appendChild(p);
      cueStarts.push(start);
      cueEls.push(p);
    });
    cueBox.scrollTop = 0;
    $("transcript").hidden = !cues.length;
    document.body.dataset.cues = source;
    highlight();
  }

  function loadTrack(stop) {
    var element = document.createElement("track");
    element.kind = "captions";
    element.src = stop.vtt;
    element.srclang = stop.lang || language.code;
    element.label = stop.title;
    element.addEventListener("load", function () {
      if (current !== stop) return;
      var cues = Array.prototype.map.call(element.track.cues || [], function (cue) {
        return [cue.startTime, cue.endTime, cue.getCueAsHTML().textContent];
      });
      if (!cues.length) return;
      var same = stop.cues && stop.cues.length === cues.length;
      // The same paragraphs as data.js: keep them and take the track's times; otherwise its cues.
      showCues(stop, same ? cues.map(function (cue, i) { return [cue[0], cue[1], stop.cues[i][2]]; }) : cues, "vtt");
    });
    element.addEventListener("error", function () {
      if (current === stop) document.body.dataset.cues = "data";
    });
    element.track.addEventListener("cuechange", highlight);
    audio.appendChild(element);
    element.track.mode = "hidden";
  }

  function highlight() {
    var now = audio.currentTime || 0;
    var index = -1;
    for (var i = 0; i < cueStarts.length && cueStarts[i] <= now + 0.05; i++) index = i;
    if (index === active) return;
    if (active >= 0 && cueEls[active]) {
      cueEls[active].classList.remove("current");
      cueEls[active].removeAttribute("aria-current");
    }
    active = index;
    if (index < 0) return;
    cueEls[index].classList.add("current");
    cueEls[index].setAttribute("aria-current", "true");
    keepInView(cueEls[index]);
  }

  // The transcript scrolls in its own box, so the page never jumps under the visitor's finger; not
  // while the visitor is scrolling it themselves.
  function keepInView(p) {
    if (cueBox.scrollHeight <= cueBox.clientHeight || Date.now() - scrolledAt < 4000) return;
    var top = Math.max(0, p.offsetTop - cueBox.clientHeight / 4);
    cueBox.scrollTo({ top: top, behavior: reducedMotion.matches ? "auto" : "smooth" });
  }

  /* The keypad */

  function showDigits() { display.textContent = digits; }

  function typeDigit(digit) {
    if (digits.length >= MAX_DIGITS) return;
    digits = digits === "0" ? digit : digits + digit;
    say("", true);
    showDigits();
  }

  function deleteDigit() {
    digits = digits.slice(0, -1);
    showDigits();
  }

  function submit() {
    if (!digits) { say(t("empty")); return; }
    var number = parseInt(digits, 10);
    digits = "";
    showDigits();
    var stop = find(number);
    if (!stop) {
      say(t("unknown", { n: number, language: language.name || language.native || language.code }));
      return;
    }
    openStop(stop, { play: true, reveal: true });
    say(t("opened", { n: stop.stop, title: stop.title }), true);
  }

  function formControl(el) {
    return !!(el && el.closest && el.closest("input, select, textarea, [contenteditable]:not([contenteditable='false'])"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (formControl(target)) return;
    if (/^[0-9]$/.test(event.key)) {
      event.preventDefault();
      typeDigit(event.key);
    } else if (event.key === "Backspace") {
      event.preventDefault();
      deleteDigit();
    } else if (event.key === "Enter") {
      // Enter plays the number typed unless it belongs to another control (a link, a button).
      var control = target && target.closest ? target.closest("a, button, summary, [role='button'], [tabindex]") : null;
      if (!control || $("keypad").contains(control)) {
        event.preventDefault();
        submit();
      }
    }
  }

  /* Deep links: #/<lang>/<stop>, #/<stop>, #/<lang> */

  function route(initial) {
    var match = /^#\/([^/]+?)(?:\/(\d+))?\/?$/.exec(location.hash);
    if (!match) return;
    var first = decodeURIComponent(match[1]);
    var number = match[2];
    if (/^\d+$/.test(first) && number === undefined) { number = first; first = null; }
    var code = null;
    if (first) {
      data.languages.forEach(function (l) { if (l.code.toLowerCase() === first.toLowerCase()) code = l.code; });
    }
    if (code && code !== language.code) setLanguage(code, false);
    if (number === undefined) return;
    var stop = find(parseInt(number, 10));
    if (!stop) {
      say(t("unknown", { n: parseInt(number, 10), language: language.name || language.code }));
      return;
    }
    if (current === stop) return;
    var gesture = navigator.userActivation ? navigator.userActivation.isActive : false;
    openStop(stop, { play: !initial && gesture, reveal: !initial });
  }

  /* Offline: over https (or from this computer) the guide installs as an app, and its service worker
     (sw.js) keeps the visitor's language on the device. Browsers allow no service worker from file://
     or over plain http on a network: there the page plays online only, and says nothing about it. */

  var OFFLINE_KEY = "audioguide.offline"; // "off" once the visitor has removed the saved audio
  var PERSIST_KEY = "audioguide.persist"; // persistent storage is asked for once
  var STATUS_MS = 3000; // progress is put into words (a live region) at most this often
  var KEEP_MS = 800; // stepping through the languages with the arrow keys keeps only the last
  var offline = { worker: null, code: null, last: null, spokenAt: 0, timer: 0, keepTimer: 0 };

  function webApp() { return window.isSecureContext && location.protocol.indexOf("http") === 0; }

  function addLink(rel, href) {
    var el = document.createElement("link");
    el.rel = rel;
    el.href = href;
    document.head.appendChild(el);
  }

  function startOffline() {
    if (!webApp()) return;
    addLink("manifest", "manifest.webmanifest");
    addLink("apple-touch-icon", "player/icon-192.png");
    if (!("serviceWorker" in navigator) || !window.caches || !data.build) return;
    var container = navigator.serviceWorker;
    container.addEventListener("message", onWorkerMessage);
    container.startMessages();
    $("offline-action").addEventListener("click", offlineAction);
    container.register("sw.js?build=" + encodeURIComponent(data.build))
      .then(ourWorker)
      .then(function (worker) {
        offline.worker = worker;
        var code = keptCode();
        if (stored(OFFLINE_KEY) === "off") tellWorker("status", code); else keepLanguage(code);
      })
      .catch(function () { $("offline").hidden = true; });
  }

  // The active worker of this build (after a new build, once it has replaced the old one).
  function ourWorker(registration) {
    return new Promise(function (resolve) {
      function check() {
        var worker = registration.active;
        if (worker && worker.state === "activated" &&
            new URL(worker.scriptURL).searchParams.get("build") === data.build) resolve(worker);
      }
      function watch(worker) { if (worker) worker.addEventListener("statechange", check); }
      watch(registration.installing);
      watch(registration.waiting);
      registration.addEventListener("updatefound", function () { watch(registration.installing); });
      navigator.serviceWorker.addEventListener("controllerchange", check);
      check();
    });
  }

  // The language to keep: the one the visitor chose, else the one shown.
  function keptCode() {
    var remembered = stored(LANGUAGE_KEY);
    return remembered && byCode[remembered] ? remembered : language.code;
  }

  function tellWorker(type, code, all) {
    offline.code = code;
    offline.worker.postMessage({ type: type, build: data.build, code: code, all: !!all });
  }

  function keepLanguage(code) {
    var storage = navigator.storage;
    if (storage && storage.persist && !stored(PERSIST_KEY)) { // without it, Safari evicts the audio
      store(PERSIST_KEY, "asked");
      storage.persisted().then(function (yes) { return yes || storage.persist(); }).catch(function () {});
    }
    tellWorker("keep", code);
  }

  function languageChosen(code) {
    if (!offline.worker) return;
    clearTimeout(offline.keepTimer);
    offline.keepTimer = setTimeout(function () {
      if (stored(OFFLINE_KEY) === "off") tellWorker("status", code); else keepLanguage(code);
    }, KEEP_MS);
  }

  function offlineAction() {
    if (!offline.worker || !offline.code) return;
    if ($("offline-action").getAttribute("data-action") === "remove") {
      store(OFFLINE_KEY, "off");
      tellWorker("remove", offline.code, true);
    } else {
      store(OFFLINE_KEY, "on");
      keepLanguage(offline.code);
    }
  }

  // {type: "offline", build, code, state: "saving" | "saved" | "failed" | "none", done, total, used}
  function onWorkerMessage(event) {
    var m = event.data;
    if (!m || m.type !== "offline" || m.build !== data.build || m.code !== offline.code) return;
    var changed = !offline.last || offline.last.state !== m.state || offline.last.code !== m.code;
    if (m.used === undefined && offline.last) m.used = offline.last.used;
    offline.last = m;
    renderOffline(changed);
  }

  function bytes(n) {
    var mega = n >= 1e6;
    var value = mega ? n / 1e6 : n / 1e3;
    try {
      return new Intl.NumberFormat(uiCode, { style: "unit", unit: mega ? "megabyte" : "kilobyte",
                                             unitDisplay: "short", maximumFractionDigits: mega ? 1 : 0 }).format(value);
    } catch (e) {
      return Math.round(value * 10) / 10 + (mega ? " MB" : " kB");
    }
  }

  // A string with a language's name in it, the name marked as being in that language.
  function setNamed(el, key, vars, named) {
    clear(el);
    t(key, vars).split("{language}").forEach(function (part, i) {
      if (i) {
        var name = make("span", "", named.native || named.name || named.code);
        tagLanguage(name, named.code);
        el.appendChild(name);
      }
      if (part) el.appendChild(document.createTextNode(part));
    });
    tagUi(el);
  }

  function renderOffline(now) {
    var m = offline.last;
    if (!m) return;
    var kept = byCode[m.code] || language;
    var panel = $("offline");
    panel.hidden = false;
    panel.dataset.state = m.state;
    var progress = $("offline-progress");
    progress.hidden = m.state !== "saving";
    progress.max = Math.max(1, m.total || 0);
    progress.value = m.done || 0;
    setText($("offline-used"), "offlineUsed", { size: bytes(m.used || 0) });
    var action = $("offline-action");
    var keeping = m.state === "saving" || m.state === "saved";
    action.setAttribute("data-action", keeping ? "remove" : "save");
    if (keeping) setText(action, "offlineRemove"); else setNamed(action, "offlineSave", {}, kept);
    clearTimeout(offline.timer);
    var wait = now ? 0 : offline.spokenAt + STATUS_MS - Date.now();
    if (wait > 0) {
      offline.timer = setTimeout(function () { renderOffline(true); }, wait);
      return;
    }
    offline.spokenAt = Date.now();
    var key = { saving: "offlineSaving", saved: "offlineSaved", failed: "offlineFailed" }[m.state] || "offlineNone";
    setNamed($("offline-status"), key, { a: m.done || 0, b: m.total || 0 }, kept);
  }

  /* Start */

  function start() {
    if (!data || !Array.isArray(data.languages) || !data.languages.length) {
      var intro = $("intro");
      clear(intro);
      intro.appendChild(make("p", "", t("noGuide")));
      $("keypad-section").hidden = true;
      $("stops-section").hidden = true;
      return;
    }
    data.guide = data.guide || {};
    data.languages.forEach(function (l) { l.stops = l.stops || []; byCode[l.code] = l; });

    var savedSpeed = parseFloat(stored(SPEED_KEY));
    if (SPEEDS.indexOf(savedSpeed) >= 0) speed = savedSpeed;

    if (data.guide.cover) {
      var cover = $("cover");
      cover.addEventListener("error", function () { cover.hidden = true; });
      cover.src = data.guide.cover;
      cover.hidden = false;
      var icon = document.createElement("link");
      icon.rel = "icon";
      icon.href = data.guide.cover;
      document.head.appendChild(icon);
    }
    renderLanguages();
    setLanguage(defaultLanguage(), false);

    var keys = $("keypad").querySelectorAll("[data-digit]");
    for (var i = 0; i < keys.length; i++) {
      keys[i].addEventListener("click", function (event) { typeDigit(event.currentTarget.getAttribute("data-digit")); });
    }
    $("delete").addEventListener("click", deleteDigit);
    $("go").addEventListener("click", submit);
    document.addEventListener("keydown", onKey);

    $("toggle").addEventListener("click", function () {
      if (audio.paused || audio.ended) play(); else audio.pause();
    });
    $("back").addEventListener("click", function () { skip(-10); });
    $("forward").addEventListener("click", function () { skip(10); });
    $("prev").addEventListener("click", function () { step(-1); });
    $("next").addEventListener("click", function () { step(1); });
    seek.addEventListener("input", function () {
      if (!current) return;
      audio.currentTime = Number(seek.value);
      updateTime();
    });
    ["timeupdate", "seeked", "loadedmetadata", "durationchange"].forEach(function (name) {
      audio.addEventListener(name, updateTime);
    });
    ["play", "pause", "ended", "emptied"].forEach(function (name) { audio.addEventListener(name, updateToggle); });
    audio.addEventListener("error", function () { if (current) say(t("error")); });
    ["wheel", "touchmove"].forEach(function (name) {
      cueBox.addEventListener(name, function () { scrolledAt = Date.now(); }, { passive: true });
    });
    mediaActions();
    updateToggle();

    window.addEventListener("hashchange", function () { route(false); });
    route(true);
    startOffline();
  }

  start();
})();
