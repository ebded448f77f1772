/* audioguide's phone player: the masthead (the guide's cover, title and publisher, the language
   switch) and the document's title. Uses: store, ui, app. */
"use strict";

const header = (() => {
  const { $, make, tagLanguage } = ui;

  function render() {
    const { data, language, current } = store;
    const title = language.title || data.guide.title || "";
    const h1 = $("guide-title");
    h1.textContent = title;
    tagLanguage(h1, language.code);
    const publisher = $("publisher");
    const museum = language.publisher || data.guide.publisher || ""; // the museum's name in this language
    publisher.textContent = museum;
    publisher.hidden = !museum;
    // the guide's source language comes first: its name is in that language unless this one has its own
    tagLanguage(publisher, language.publisher && language.publisher !== data.languages[0].publisher
      ? language.code : data.languages[0].code);
    const cover = $("cover");
    if (data.guide.cover) {
      cover.alt = title;
      tagLanguage(cover, language.code);
    }
    document.title = current ? current.title + " · " + title : title;
  }

  /* The cover, and the language switch: each language named in itself. */
  function start() {
    const { data } = store;
    if (data.guide.cover) {
      const cover = $("cover");
      cover.addEventListener("error", () => { cover.hidden = true; });
      cover.src = data.guide.cover;
      cover.hidden = false;
      const icon = document.createElement("link");
      icon.rel = "icon";
      icon.href = data.guide.cover;
      document.head.appendChild(icon);
    }
    const select = $("language");
    for (const l of data.languages) {
      const option = make("option", "", l.native || l.name || l.code);
      option.value = l.code;
      option.lang = l.code;
      option.dir = l.dir === "rtl" ? "rtl" : "ltr";
      select.appendChild(option);
    }
    select.addEventListener("change", () => {
      app.setLanguage(select.value, true);
      offline.languageChosen(select.value);
    });
    $("language-box").hidden = data.languages.length < 2;
  }

  return { render, start };
})();
