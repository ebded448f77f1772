"""The phone player: a static web page at the package's root (`index.html`, and `player/` with its
scripts, style and data) that plays the guide from the package's own files, offline, from file:// or
any static web server. The page and its scripts are fixed assets (outputs/player/); the guide reaches
it only as data (`player/data.js`), which the scripts put on the page as text. Its buttons and
messages come from the catalog of interface messages (messages.py: audioguide/locale/*.po, with the
guide's own over them), from which each build writes a file per language of the guide
(`player/strings-<lang>.js`).

The page's scripts are classic scripts, not ES modules: Chromium loads no module into a page opened
from file://, and the player plays from file:// (a folder copied off the build, a USB stick).

Served over https (or from localhost), it is also an installable web app: a web app manifest
(`manifest.webmanifest`), icons made from the guide's cover, and a service worker (`sw.js`, at the
root so that it may keep every file of the package; an ES module) that keeps the chosen language for
offline use. What the worker keeps it imports from `player/sw-files.js`, written here with the rest."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, ClassVar

from audioguide import manifest as manifests
from audioguide.guide.languages import native_name
from audioguide.manifest import FileRecord, Language, Manifest, Stop
from audioguide.messages import Interface, interface, missing_warning, plural_js
from audioguide.outputs.base import Files, Package
from audioguide.schema import Options
from audioguide.tours import tour_stops

log = logging.getLogger("audioguide")

SCRIPTS = ("store", "ui", "header", "images", "stops", "tours", "transcript", "playback", "keypad",  # index.html's
           "offline", "app")  # order
ASSETS = {"index.html": "index.html", "style.css": "player/style.css", "sw.js": "sw.js",
          **{f"{name}.js": f"player/{name}.js" for name in SCRIPTS}}
DATA = "player/data.js"
WORKER_FILES = "player/sw-files.js"  # what the service worker keeps: it imports this
STRINGS = "player/strings-{}.js"  # the interface's strings in one language
WEB_MANIFEST = "manifest.webmanifest"
ICONS = {192: "player/icon-192.png", 512: "player/icon-512.png"}
THEME = "#141826"  # the page's header (style.css --head-bg): the colour around an installed app's icon and title
BACKGROUND = "#f5f1e8"  # the page's background (style.css --bg)

def _assets() -> Traversable:
    return resources.files("audioguide.outputs").joinpath("player")


def interfaces(manifest: Manifest) -> dict[str, Interface]:
    """Each language's interface: audioguide's catalog, the guide's own messages over it (messages.py)."""
    return {code: interface(code, language.interface) for code, language in manifest.languages.items()}


def ui_name(code: str) -> str:
    """The name of a guide language's strings file: `player/strings-<code, lower case>.js`."""
    return code.lower()


def strings_files(found: Mapping[str, Interface]) -> tuple[dict[str, bytes], list[str]]:
    """`player/strings-<lang>.js` for each language of the guide, every message in it (English where
    neither the catalog nor the guide has one in that language, listed as English so that the page
    marks it as such) with the language's plural rule (Babel's CLDR rule in JavaScript, and each
    category's form); and a warning for each language a visitor will not get whole."""
    files: dict[str, bytes] = {}
    warnings: list[str] = []
    for code, face in found.items():
        warning = missing_warning(face)
        if warning:
            warnings.append(warning)
        plural, forms = plural_js(face.rule)
        table = {"lang": code, "strings": {key: list(text) if isinstance(text, tuple) else text
                                           for key, text in face.texts.items()},
                 "english": face.english, "forms": forms}
        name = json.dumps(ui_name(code))
        files[STRINGS.format(ui_name(code))] = (f"(self.AUDIOGUIDE_STRINGS ||= {{}})[{name}] = {_json(table)};\n"
                                                f"self.AUDIOGUIDE_STRINGS[{name}].plural = {plural};\n").encode()
    return files, warnings


def _cues(stop: Stop) -> list[list[Any]]:
    """A stop's cues for the page: [start, end, text], and who says it where one of the guide's speakers does."""
    texts = stop.cue_texts
    names = stop.speakers if len(texts) == len(stop.paragraphs) else [""] * len(texts)
    return [[start, end, text, *([name] if name else [])]
            for (start, end), text, name in zip(stop.made.cues or (), texts, names, strict=True)]


def _versions(language: Language, number: int) -> list[dict[str, Any]]:
    """A stop's other versions, as the page switches to them: each one's id, kind, label and track."""
    return [{"version": v.version, "kind": v.kind, "label": v.label, "title": v.title, "file": v.file, "vtt": v.vtt,
             "duration": v.made.duration, "cues": _cues(v)} for v in language.versions if v.stop == number]


def player_data(manifest: Manifest, fixed: Mapping[str, bytes]) -> dict[str, Any]:
    """What the page shows and plays, from the manifest (paths relative to the package's root); `fixed`
    are the player's files that are not made from the guide (its page, scripts, style, strings)."""
    languages = []
    for code, language in manifest.languages.items():
        native, direction = native_name(code)
        stops = [{"stop": s.stop, "title": s.title, "file": s.file, "vtt": s.vtt, "duration": s.made.duration,
                  "lang": s.fallback or code, "fallback": s.fallback is not None,
                  "cues": _cues(s),
                  "image": _image(s.images[0], s.fallback or code) if s.images else None,
                  **({"video": {"type": s.video.type, "width": s.video.width, "height": s.video.height,
                                "poster": s.video.poster}} if s.video else {}),
                  **({"versions": found} if (found := _versions(language, s.stop)) else {})}
                 for s in language.stops]
        languages.append({"code": code, "name": language.name, "native": native, "dir": direction,
                          "title": language.title, "publisher": manifest.publisher(code), "ui": ui_name(code),
                          "stops": stops, "tours": _tours(manifest, code)})
    guide = manifest.guide
    data: dict[str, Any] = {"version": 1, "build": "",
                            "guide": {"title": guide.title, "publisher": guide.publisher, "cover": guide.cover},
                            "languages": languages}
    # changes with anything the page shows or plays: its data, every track's content, and the player's
    # own files (a new audioguide's script must reach phones that keep the old one offline)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    for stop in manifest.tracks().values():
        digest.update(stop.made.sha256.encode())
    for name in sorted(fixed):
        digest.update(hashlib.sha256(fixed[name]).digest())
    data["build"] = digest.hexdigest()[:16]
    return data


def _tours(manifest: Manifest, code: str) -> list[dict[str, Any]]:
    """The tours a language has a stop of, as the page lists them: id, title, description, the stops
    of the tracks tours.tour_stops picks (each an index into the language's stops), in the tour's
    order, the version it plays where a stop has it and that version's kind (where the language's tour
    plays one: an audio-described tour), and its length (those tracks' durations)."""
    language, found = manifest.languages[code], []
    place = {s.stop: i for i, s in enumerate(language.stops)}
    for tid, tour in (manifest.tours or {}).items():
        picked = tour_stops(language, tour)
        if picked:
            found.append({"id": tid, "title": tour.title.get(code, tid),
                          "description": (tour.description or {}).get(code), "tracks": [place[s.stop] for s in picked],
                          "version": tour.version, "duration": sum(s.made.duration for s in picked),
                          "kind": next((s.kind for s in picked if s.version is not None), None)})
    return found


def _image(image: manifests.Image, lang: str) -> dict[str, Any]:
    """A stop's main image as the page shows it: its size, alt text and credit (in `lang`), and each
    format's files with their widths (and heights), smallest first."""
    return {"width": image.width, "height": image.height, "alt": image.alt, "credit": image.credit,
            "lang": lang if image.alt else None,
            **{name: [[f.file, f.width, f.height] for f in image.of_type(mime)]
               for name, mime in (("webp", "image/webp"), ("jpeg", "image/jpeg"))}}


def worker_files(data: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """What the service worker keeps (`player/sw-files.js`): the build's token; the page (the package's
    root, that is index.html) and every file of the player but the worker itself and the icons, taken
    from the network first; the icons and the cover; each language's tracks and transcripts, in order."""
    images = [*ICONS.values(), *([data["guide"]["cover"]] if data["guide"]["cover"] else [])]
    page = ["", *sorted(name for name in names if name != "sw.js" and name not in images)]
    languages = {language["code"]: list(dict.fromkeys(
        file for stop in language["stops"] for file in (*_heard(stop), stop["vtt"], *_webp(stop), *(
            f for v in stop.get("versions", ()) for f in (v["file"], v["vtt"]))) if file))  # a stop's versions too
        for language in data["languages"]}
    return {"build": data["build"], "page": page, "images": images, "languages": languages}


def _heard(stop: Mapping[str, Any]) -> list[str]:
    """A stop's track; for a sign-language stop, its poster frame only: its video (up to 500 MiB) plays
    from the network and is not kept on the phone."""
    return [stop["video"]["poster"]] if stop.get("video") else [stop["file"]]


def _webp(stop: Mapping[str, Any]) -> list[str]:
    """A stop's image as the worker keeps it: its WebP files (every browser with a service worker shows WebP)."""
    return [file for file, _, _ in stop["image"]["webp"]] if stop.get("image") else []


def icon(cover: bytes | None, size: int) -> bytes:
    """A square PNG icon: the cover, whole, inside the middle 80% (the part of a "maskable" icon that
    no launcher crops), on the header's colour; that colour alone when the guide has no cover."""
    import io

    from PIL import Image

    square = Image.new("RGB", (size, size), THEME)
    if cover is not None:
        with Image.open(io.BytesIO(cover)) as image:
            picture = image.convert("RGB")
        inner = round(size * 0.8)
        picture.thumbnail((inner, inner), Image.Resampling.LANCZOS)
        square.paste(picture, ((size - picture.width) // 2, (size - picture.height) // 2))
    out = io.BytesIO()
    square.save(out, "PNG", optimize=True)
    return out.getvalue()


def web_manifest(manifest: Manifest) -> dict[str, Any]:
    """The web app manifest: what a phone shows for the installed guide."""
    source = manifest.guide.source_language
    language = manifest.languages.get(source)
    title = language.title if language is not None else manifest.guide.title
    return {"name": title, "short_name": manifest.guide.title[:30], "lang": source, "dir": native_name(source)[1],
            "start_url": "./", "scope": "./", "display": "standalone", "theme_color": THEME,
            "background_color": BACKGROUND,
            "icons": [{"src": name, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any maskable"}
                      for size, name in ICONS.items()]}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class WebPlayer:
    name: ClassVar[str] = "player"
    options: ClassVar[Options] = {}
    # broader than what this version writes, so that a later build removes a file an older one wrote
    names: ClassVar[re.Pattern[str]] = re.compile(
        r"index\.html|sw\.js|manifest\.webmanifest|player/[a-z0-9-]+\.(js|css|png)")

    def write(self, package: Package, files: Files) -> None:
        folder = _assets()
        made, warnings = strings_files(interfaces(package.manifest))
        for warning in warnings:
            log.warning("%s", warning)
        fixed = {**{name: folder.joinpath(source).read_bytes() for source, name in ASSETS.items()}, **made}
        previous = package.previous
        if previous is not None and all(previous.owned().get(name) == FileRecord.of(content)
                                        for name, content in fixed.items()) and files.keep(self.names, previous):
            return  # the guide and the player's files are as the last build had them: so are the icons and data
        for name, content in fixed.items():
            files.write(name, content)
        for size, name in ICONS.items():
            files.write(name, icon(package.cover, size))
        files.write(WEB_MANIFEST, (json.dumps(web_manifest(package.manifest), ensure_ascii=False, indent=2)
                                   + "\n").encode())
        data = player_data(package.manifest, fixed)
        files.write(DATA, f"window.AUDIOGUIDE = {_json(data)};\n".encode())
        names = [*fixed, *ICONS.values(), WEB_MANIFEST, DATA, WORKER_FILES]
        files.write(WORKER_FILES, f"export default {_json(worker_files(data, names))};\n".encode())
