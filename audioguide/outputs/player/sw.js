/* audioguide's service worker, an ES module: served from the package's root (its scope is the whole
   package) and registered by player/offline.js as `sw.js?build=<token>`, the token of
   player/data.js, so that every new build installs a new worker. What it keeps it reads from
   player/sw-files.js, which the build writes with the player (webplayer.py): the build's token, the
   page's files, the images, and each language's tracks and transcripts.

   - install: keeps the app shell (the page and every file of the player, the web app manifest, the
     icons, the cover) in a cache named for the build;
   - activate: deletes this package's caches of every other build;
   - a "keep" message from the page keeps one language: its tracks and transcripts, in a cache named
     for the build and the language, reporting progress to the page. The language kept before is
     deleted only once every file of the new one is stored: a choice made offline, or a download that
     fails halfway, leaves it kept and playing. "remove" deletes them; "status" reports what is stored;
   - fetch: only GET requests to this package. The page and the player's files come from the
     network when it answers (so that a new build is seen at once) and from the cache without one;
     what is stored comes from the cache, byte ranges included (an audio element asks for ranges,
     and seeking needs them answered); anything else goes to the network. */

import files from "./player/sw-files.js";

const BUILD = new URL(self.location.href).searchParams.get("build") || "dev";
const SCOPE = self.registration.scope; // the package's root, with its final "/"
const PREFIX = "audioguide-";
const SUFFIX = "@" + SCOPE; // this package's caches: another guide may share the origin
const OURS = PREFIX + BUILD + "-";
const SHELL = OURS + "shell" + SUFFIX;
const TRACKS = OURS + "tracks-";
const NETWORK_MS = 3500; // how long the page waits for a slow network before the stored copy

let job = null; // the language being kept: {code, done, total, cancelled, promise}

function address(path) { return new URL(path, SCOPE).href; }

function tracksCache(code) { return TRACKS + code + SUFFIX; }

function codeOf(name) { return name.slice(TRACKS.length, name.length - SUFFIX.length); }

function isTracks(name) { return /^audioguide-[^-@]+-tracks-/.test(name) && name.endsWith(SUFFIX); }

async function ourCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(OURS) && name.endsWith(SUFFIX));
}

// A worker that a newer build's worker has replaced stops working for the page.
function superseded() {
  const active = self.registration.active;
  return !!active && active.scriptURL !== self.location.href;
}

// A language's tracks and transcripts, in the order they are stored; null for a language the guide has not.
function trackFiles(code) {
  return Object.hasOwn(files.languages, code) ? files.languages[code] : null;
}

/* Install and activate */

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    // a page older than the package on the server: the newer page will register its own worker
    if (files.build !== BUILD) throw new Error("player/sw-files.js is build " + files.build + ", not " + BUILD);
    const cache = await caches.open(SHELL);
    await cache.addAll([...files.page, ...files.images].map((file) => new Request(address(file),
                                                                                   { cache: "no-cache" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith(PREFIX) && name.endsWith(SUFFIX) &&
                                             !name.startsWith(OURS)).map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

/* Fetch */

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  const url = new URL(request.url);
  let path = url.pathname.slice(new URL(SCOPE).pathname.length);
  try { path = decodeURIComponent(path); } catch (e) { /* not percent-encoded UTF-8: as it is */ }
  if (path === "sw.js" || /\.(mp4|webm)$/.test(path)) return; // a sign-language video: the network's, not kept
  if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, address("index.html")));
  } else if (files.page.includes(path) && !url.search) {
    event.respondWith(networkFirst(request, null));
  } else {
    event.respondWith(cacheFirst(request));
  }
});

async function stored(request) {
  for (const name of await ourCaches()) {
    const hit = await (await caches.open(name)).match(request, { ignoreVary: true });
    if (hit) return hit;
  }
  return null;
}

// The network's answer; the stored copy when the network fails, the server errs, or it is slow.
async function networkFirst(request, fallback) {
  const network = fetch(request);
  let cached = await stored(request);
  if (!cached && fallback) cached = await stored(new Request(fallback));
  if (!cached) return network;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(cached), NETWORK_MS);
    network.then((response) => {
      clearTimeout(timer);
      resolve(response.status < 500 ? response : cached);
    }, () => {
      clearTimeout(timer);
      resolve(cached);
    });
  });
}

async function cacheFirst(request) {
  const cached = await stored(request);
  return cached ? ranged(request, cached) : fetch(request);
}

// A byte range of a stored response (Range: bytes=a-b, bytes=a-, bytes=-n) as 206 Partial Content;
// the whole response for no range, or one this does not read (several ranges).
async function ranged(request, response) {
  const header = request.headers.get("range");
  const wanted = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!wanted || (!wanted[1] && !wanted[2]) || response.status !== 200) return response;
  const body = await response.blob();
  const size = body.size;
  let start;
  let end;
  if (wanted[1]) {
    start = Number(wanted[1]);
    end = wanted[2] ? Math.min(Number(wanted[2]), size - 1) : size - 1;
  } else {
    start = Math.max(0, size - Number(wanted[2]));
    end = size - 1;
  }
  if (start >= size || start > end) {
    return new Response(null, { status: 416, statusText: "Range Not Satisfiable",
                                headers: { "Content-Range": "bytes */" + size } });
  }
  return new Response(body.slice(start, end + 1), {
    status: 206,
    statusText: "Partial Content",
    headers: {
      "Content-Type": response.headers.get("content-type") || body.type || "application/octet-stream",
      "Content-Range": "bytes " + start + "-" + end + "/" + size,
      "Content-Length": String(end - start + 1),
      "Accept-Ranges": "bytes"
    }
  });
}

/* Messages from the page: {type: "keep" | "remove" | "status", build, code, all} */

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.build !== BUILD || typeof message.code !== "string" || superseded()) return;
  let work;
  if (message.type === "keep") work = keep(message.code);
  else if (message.type === "remove") work = remove(message.code, !!message.all);
  else if (message.type === "status") work = report(message.code);
  if (work) event.waitUntil(work.catch(() => report(message.code)));
});

async function tell(message) {
  message.type = "offline";
  message.build = BUILD;
  const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  pages.filter((page) => page.url.startsWith(SCOPE)).forEach((page) => page.postMessage(message));
}

async function sizeOf(response) {
  return response ? (await response.blob()).size : 0;
}

// This build's caches in bytes (`used`), of which tracks (`audio`).
async function usage() {
  const sizes = { used: 0, audio: 0 };
  for (const name of await ourCaches()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const size = await sizeOf(await cache.match(request));
      sizes.used += size;
      if (isTracks(name)) sizes.audio += size;
    }
  }
  return sizes;
}

// Tells the page what is stored of a language, and how much space the guide takes.
async function report(code, state, done, total) {
  const { used, audio } = await usage();
  if (state === undefined) {
    if (job && job.code === code) {
      state = "saving";
      done = job.done;
      total = job.total;
    } else {
      ({ state, done, total } = await inventory(code));
    }
  }
  await tell({ code: code, state: state, done: done, total: total, audio: audio, used: used });
}

// How much of a language is stored: "saved" (all of it), "failed" (some), "none".
async function inventory(code) {
  const list = trackFiles(code);
  if (!list || !(await caches.has(tracksCache(code)))) return { state: "none", done: 0, total: list ? list.length : 0 };
  const cache = await caches.open(tracksCache(code));
  let done = 0;
  for (const file of list) if (await cache.match(address(file))) done += 1;
  return { state: done === list.length ? "saved" : done ? "failed" : "none", done, total: list.length };
}

// One language at a time: keeping one drops the others of this build, once it is complete (not
// before: offline, or with the storage full, the visitor would lose the language they had). What
// an incomplete one stored stays too, until one is complete: chosen again online, it goes on from there.
function keep(code) {
  if (job && job.code === code) return report(code);
  if (job) job.cancelled = true;
  const mine = { code: code, done: 0, total: 0, cancelled: false };
  job = mine;
  mine.promise = (async () => {
    const list = trackFiles(code);
    if (!list) throw new Error("no language " + code);
    const cache = await caches.open(tracksCache(code));
    const missing = [];
    for (const file of list) if (!(await cache.match(address(file)))) missing.push(file);
    mine.total = list.length;
    mine.done = list.length - missing.length;
    const sizes = missing.length ? await usage() : null;
    if (missing.length) await tell({ code: code, state: "saving", done: mine.done, total: mine.total, ...sizes });
    for (const file of missing) {
      if (mine.cancelled || superseded()) return;
      try {
        const response = await fetch(new Request(address(file), { cache: "no-cache" }));
        if (!response.ok) throw new Error(file + ": HTTP " + response.status);
        const size = Number(response.headers.get("content-length")) || 0; // as it goes; counted at the end
        await cache.put(address(file), response);
        sizes.used += size;
        sizes.audio += size;
      } catch (e) {
        if (job === mine) job = null;
        await report(code, "failed", mine.done, mine.total); // offline, or the storage is full
        return;
      }
      mine.done += 1;
      if (!mine.cancelled) await tell({ code: code, state: "saving", done: mine.done, total: mine.total, ...sizes });
    }
    if (job === mine) job = null;
    if (mine.cancelled || superseded()) return;
    const others = (await ourCaches()).filter((name) => isTracks(name) && codeOf(name) !== code);
    await Promise.all(others.map((name) => caches.delete(name)));
    await report(code, "saved", mine.done, mine.total);
  })().finally(() => { if (job === mine) job = null; });
  return mine.promise;
}

// A language's stored tracks, or all of them (every build's, of this package).
async function remove(code, all) {
  if (job && (all || job.code === code)) {
    job.cancelled = true;
    job = null;
  }
  const names = (await caches.keys()).filter((name) => isTracks(name) && (all || name === tracksCache(code)));
  await Promise.all(names.map((name) => caches.delete(name)));
  await report(code);
}
