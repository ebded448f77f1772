"""The phone player: a static web page at the package's root (`index.html`, and `player/` with its
script, style and data) that plays the guide from the package's own files, offline, from file:// or
any static web server. The page and its script are fixed assets (outputs/player/); the guide reaches
it only as data (`player/data.js`), which the script puts on the page as text.

Served over https (or from localhost), it is also an installable web app: a web app manifest
(`manifest.webmanifest`), icons made from the guide's cover, and a service worker (`sw.js`, at the
root so that it may keep every file of the package) that keeps the chosen language for offline use."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from typing import Any, ClassVar

from audioguide.guide.languages import native_name
from audioguide.manifest import FileRecord, Manifest
from audioguide.outputs.base import Files, Package
from audioguide.schema import Options

ASSETS = {"index.html": "index.html", "app.js": "player/app.js", "style.css": "player/style.css", "sw.js": "sw.js"}
DATA = "player/data.js"
WEB_MANIFEST = "manifest.webmanifest"
ICONS = {192: "player/icon-192.png", 512: "player/icon-512.png"}
THEME = "#141826"  # the page's header (style.css --head-bg): the colour around an installed app's icon and title
BACKGROUND = "#f5f1e8"  # the page's background (style.css --bg)


def player_data(manifest: Manifest) -> dict[str, Any]:
    """What the page shows and plays, from the manifest (paths relative to the package's root)."""
    languages = []
    for code, language in manifest.languages.items():
        native, direction = native_name(code)
        stops = [{"stop": s.stop, "title": s.title, "file": s.file, "vtt": s.vtt, "duration": s.made.duration,
                  "lang": s.fallback or code, "fallback": s.fallback is not None,
                  "cues": [[start, end, text] for (start, end), text in zip(s.made.cues or (), s.cue_texts,
                                                                           strict=True)]}
                 for s in language.stops]
        languages.append({"code": code, "name": language.name, "native": native, "dir": direction,
                          "title": language.title, "stops": stops})
    guide = manifest.guide
    data: dict[str, Any] = {"version": 1, "build": "",
                            "guide": {"title": guide.title, "publisher": guide.publisher, "cover": guide.cover},
                            "languages": languages}
    # changes with anything the page shows or plays: its data, every track's content, and the player's
    # own files (a new audioguide's script must reach phones that keep the old one offline)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode())
    for stop in manifest.tracks().values():
        digest.update(stop.made.sha256.encode())
    assets = resources.files("audioguide.outputs").joinpath("player")
    for source in ASSETS:
        digest.update(hashlib.sha256(assets.joinpath(source).read_bytes()).digest())
    data["build"] = digest.hexdigest()[:16]
    return data


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


class WebPlayer:
    name: ClassVar[str] = "player"
    options: ClassVar[Options] = {}
    names: ClassVar[re.Pattern[str]] = re.compile(
        r"index\.html|sw\.js|manifest\.webmanifest|player/(app\.js|style\.css|data\.js|icon-(192|512)\.png)")

    def write(self, package: Package, files: Files) -> None:
        folder = resources.files("audioguide.outputs").joinpath("player")
        assets = {name: folder.joinpath(source).read_bytes() for source, name in ASSETS.items()}
        previous = package.previous
        if previous is not None and all(previous.owned().get(name) == FileRecord.of(content)
                                        for name, content in assets.items()) and files.keep(self.names, previous):
            return  # the guide and the player's files are as the last build had them: so are the icons and data
        for name, content in assets.items():
            files.write(name, content)
        for size, name in ICONS.items():
            files.write(name, icon(package.cover, size))
        files.write(WEB_MANIFEST, (json.dumps(web_manifest(package.manifest), ensure_ascii=False, indent=2)
                                   + "\n").encode())
        data = json.dumps(player_data(package.manifest), ensure_ascii=False, separators=(",", ":"))
        files.write(DATA, f"window.AUDIOGUIDE = {data};\n".encode())
