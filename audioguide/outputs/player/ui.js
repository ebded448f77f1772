/* audioguide's phone player: the page's building blocks, and its interface strings. The page is
   built with createElement and textContent only: every string from the guide is text. The strings
   of the interface come from player/strings-<lang>.js (written by the build from its catalog, one
   file per language the guide shows them in), each a table with every string, English standing in
   for one the language lacks. Uses: store. */
"use strict";

const ui = (() => {
  const $ = (id) => document.getElementById(id);

  /* The strings files of these languages, loaded (as scripts: a page from file:// may fetch nothing). */
  function loadStrings(codes) {
    const tables = (self.AUDIOGUIDE_STRINGS = self.AUDIOGUIDE_STRINGS || {});
    return Promise.all([...new Set(codes)].filter((code) => !tables[code]).map((code) => new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = "player/strings-" + encodeURIComponent(code) + ".js";
      script.addEventListener("load", resolve);
      script.addEventListener("error", resolve); // its strings are missing: the page's own English stays
      document.head.appendChild(script);
    })));
  }

  /* The strings table for a language of the guide. */
  function stringsOf(language) {
    const tables = self.AUDIOGUIDE_STRINGS || {};
    return tables[language.ui] || tables.en || { lang: "en", strings: {}, english: [] };
  }

  /* Which of a counted message's forms a number takes: the language's CLDR rule gives its category
     (one, few, many ...), the table the category's form; English's rule where English stands in. */
  function form(table, key, forms, count) {
    const n = Number(count) || 0;
    if (table.english.includes(key) || typeof table.plural !== "function") return Math.min(n === 1 ? 0 : 1, forms.length - 1);
    const index = (table.forms || {})[table.plural(n)];
    return index === undefined || index >= forms.length ? forms.length - 1 : index;
  }

  /* A message filled in: {name} by vars.name; a counted message's form chosen by vars.count. */
  function t(key, vars) {
    const table = store.strings;
    let text = table.strings[key];
    if (text === undefined) return "";
    if (Array.isArray(text)) text = text[form(table, key, text, vars && vars.count)] || "";
    return text.replace(/\{(\w+)\}/g, (all, name) => (vars && vars[name] !== undefined ? String(vars[name]) : all));
  }

  /* The language a string of the interface is in: the table's, or English where it stands in. */
  function langOf(key) {
    const table = store.strings;
    return table.english.includes(key) ? "en" : table.lang;
  }

  // The interface's strings are tagged with their language when it is not the page's (English
  // standing in for a language the catalog does not have, left to right in a right-to-left page).
  function tagUi(el, key) {
    const lang = langOf(key);
    if (store.language && lang !== store.primary(store.language.code)) {
      el.lang = lang;
      el.dir = "ltr";
    } else {
      el.removeAttribute("lang");
      el.removeAttribute("dir");
    }
  }

  function setText(el, key, vars) { el.textContent = t(key, vars); tagUi(el, key); }

  function setLabel(el, key, vars) { el.setAttribute("aria-label", t(key, vars)); tagUi(el, key); }

  function make(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function clear(el) { el.replaceChildren(); }

  /* An element in one of the guide's languages. */
  function tagLanguage(el, code) {
    el.lang = code;
    const other = store.byCode[code];
    el.dir = other && other.dir === "rtl" ? "rtl" : "ltr";
  }

  // A string with a language's name in it, the name marked as being in that language.
  function setNamed(el, key, vars, named) {
    clear(el);
    t(key, vars).split("{language}").forEach((part, i) => {
      if (i) {
        const name = make("span", "", named.native || named.name || named.code);
        tagLanguage(name, named.code);
        el.appendChild(name);
      }
      if (part) el.appendChild(document.createTextNode(part));
    });
    tagUi(el, key);
  }

  function clock(seconds, round) {
    const s = Math.max(0, round ? Math.round(seconds || 0) : Math.floor(seconds || 0));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
  }

  /* A message in the status line under the keypad (`info`: not an error); say() alone clears it. */
  function say(key, vars, info) {
    const message = $("message");
    const text = key ? t(key, vars) : "";
    message.classList.toggle("info", !!info);
    tagUi(message, key);
    if (message.textContent === text) message.textContent = "";
    message.textContent = text;
  }


  /* The audio-description symbol: "AD" in a rounded box, drawn; named by the catalog's message
     (role img) when `named`, else hidden from screen readers (its button's text names it). */
  function adSymbol(named) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 34 20");
    svg.setAttribute("class", "ad-symbol");
    svg.setAttribute("focusable", "false");
    if (named) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", t("audioDescription"));
      tagUi(svg, "audioDescription");
    } else {
      svg.setAttribute("aria-hidden", "true");
    }
    const box = document.createElementNS(svg.namespaceURI, "rect");
    for (const [name, value] of [["x", 1], ["y", 1], ["width", 32], ["height", 18], ["rx", 3], ["fill", "none"],
                                 ["stroke", "currentColor"], ["stroke-width", 2]]) box.setAttribute(name, value);
    const text = document.createElementNS(svg.namespaceURI, "text");
    for (const [name, value] of [["x", 17], ["y", 14.5], ["text-anchor", "middle"], ["font-size", 12],
                                 ["font-weight", 700], ["font-family", "sans-serif"], ["fill", "currentColor"]]) {
      text.setAttribute(name, value);
    }
    text.textContent = "AD";
    svg.append(box, text);
    return svg;
  }

  return { $, loadStrings, stringsOf, t, tagUi, setText, setLabel, make, clear, tagLanguage, setNamed, clock, say,
           adSymbol };
})();
