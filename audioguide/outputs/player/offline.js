/* audioguide's phone player, offline: over https (or from this computer) the guide installs as an
   app, and its service worker (sw.js) keeps the visitor's language on the device. Browsers allow no
   service worker from file:// or over plain http on a network: there the page plays online only,
   and says nothing about it. Uses: store, ui. */
"use strict";

const offline = (() => {
  const { $, setText, setNamed } = ui;
  const STATUS_MS = 3000; // progress is put into words (a live region) at most this often
  const KEEP_MS = 800; // stepping through the languages with the arrow keys keeps only the last

  const webApp = () => window.isSecureContext && location.protocol.startsWith("http");

  function addLink(rel, href) {
    const el = document.createElement("link");
    el.rel = rel;
    el.href = href;
    document.head.appendChild(el);
  }

  function start() {
    const { data, offline: state } = store;
    if (!webApp()) return;
    addLink("manifest", "manifest.webmanifest");
    addLink("apple-touch-icon", "player/icon-192.png");
    if (!("serviceWorker" in navigator) || !window.caches || !data.build) return;
    const container = navigator.serviceWorker;
    container.addEventListener("message", onWorkerMessage);
    container.startMessages();
    $("offline-action").addEventListener("click", action);
    // a module (it imports the list of files it keeps), never taken from the HTTP cache
    container.register("sw.js?build=" + encodeURIComponent(data.build), { type: "module", updateViaCache: "none" })
      .then(ourWorker)
      .then((worker) => {
        state.worker = worker;
        const code = store.keptCode();
        if (store.remembered(store.OFFLINE_KEY) === "off") tell("status", code); else keep(code);
      })
      .catch(() => { $("offline").hidden = true; });
  }

  // The active worker of this build (after a new build, once it has replaced the old one).
  function ourWorker(registration) {
    return new Promise((resolve) => {
      function check() {
        const worker = registration.active;
        if (worker && worker.state === "activated" &&
            new URL(worker.scriptURL).searchParams.get("build") === store.data.build) resolve(worker);
      }
      function watch(worker) { if (worker) worker.addEventListener("statechange", check); }
      watch(registration.installing);
      watch(registration.waiting);
      registration.addEventListener("updatefound", () => watch(registration.installing));
      navigator.serviceWorker.addEventListener("controllerchange", check);
      check();
    });
  }

  function tell(type, code, all) {
    store.offline.code = code;
    store.offline.worker.postMessage({ type, build: store.data.build, code, all: !!all });
  }

  function keep(code) {
    const storage = navigator.storage;
    if (storage && storage.persist && !store.remembered(store.PERSIST_KEY)) { // without it, Safari evicts the audio
      store.remember(store.PERSIST_KEY, "asked");
      storage.persisted().then((yes) => yes || storage.persist()).catch(() => {});
    }
    tell("keep", code);
  }

  /* The visitor chose a language: kept (once they stop choosing), unless they removed the saved audio. */
  function languageChosen(code) {
    const state = store.offline;
    if (!state.worker) return;
    clearTimeout(state.keepTimer);
    state.keepTimer = setTimeout(() => {
      if (store.remembered(store.OFFLINE_KEY) === "off") tell("status", code); else keep(code);
    }, KEEP_MS);
  }

  function action() {
    const state = store.offline;
    if (!state.worker || !state.code) return;
    if ($("offline-action").getAttribute("data-action") === "remove") {
      store.remember(store.OFFLINE_KEY, "off");
      tell("remove", state.code, true);
    } else {
      store.remember(store.OFFLINE_KEY, "on");
      keep(state.code);
    }
  }

  // {type: "offline", build, code, state: "saving" | "saved" | "failed" | "none", done, total, used}
  function onWorkerMessage(event) {
    const m = event.data;
    const state = store.offline;
    if (!m || m.type !== "offline" || m.build !== store.data.build || m.code !== state.code) return;
    const changed = !state.last || state.last.state !== m.state || state.last.code !== m.code;
    if (m.used === undefined && state.last) m.used = state.last.used;
    state.last = m;
    render(changed);
  }

  function bytes(n) {
    const mega = n >= 1e6;
    const value = mega ? n / 1e6 : n / 1e3;
    try {
      return new Intl.NumberFormat(store.strings.lang, { style: "unit", unit: mega ? "megabyte" : "kilobyte",
                                                         unitDisplay: "short", maximumFractionDigits: mega ? 1 : 0 })
        .format(value);
    } catch {
      return Math.round(value * 10) / 10 + (mega ? " MB" : " kB");
    }
  }

  /* The panel, from the worker's last report; its status put into words at once when `now`. */
  function render(now) {
    const state = store.offline;
    const m = state.last;
    if (!m) return;
    const kept = store.byCode[m.code] || store.language;
    const panel = $("offline");
    panel.hidden = false;
    panel.dataset.state = m.state;
    const progress = $("offline-progress");
    progress.hidden = m.state !== "saving";
    progress.max = Math.max(1, m.total || 0);
    progress.value = m.done || 0;
    setText($("offline-used"), "offlineUsed", { size: bytes(m.used || 0) });
    const button = $("offline-action");
    const keeping = m.state === "saving" || m.state === "saved";
    button.setAttribute("data-action", keeping ? "remove" : "save");
    if (keeping) setText(button, "offlineRemove"); else setNamed(button, "offlineSave", {}, kept);
    clearTimeout(state.timer);
    const wait = now ? 0 : state.spokenAt + STATUS_MS - Date.now();
    if (wait > 0) {
      state.timer = setTimeout(() => render(true), wait);
      return;
    }
    state.spokenAt = Date.now();
    const key = { saving: "offlineSaving", saved: "offlineSaved", failed: "offlineFailed" }[m.state] || "offlineNone";
    setNamed($("offline-status"), key, { a: m.done || 0, b: m.total || 0 }, kept);
  }

  return { start, languageChosen, render };
})();
