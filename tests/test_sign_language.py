"""Sign-language guides (issue 24): a language of kind "sign" whose stops are videos. Short synthetic
videos made here by ffmpeg (testsrc and sine; MP4 H.264/AAC and WebM VP9/Opus) are built into a guide
with British Sign Language (bfi): the package has each video byte for byte, a poster frame Pillow
decodes, captions webvtt-py reads (a cue per paragraph, inside the video), the manifest's video record;
verify checks them and catches a changed video; the zip edition holds them and a device edition leaves
the language out with a warning; bad videos are one-line errors; the phone player plays the video
with its captions track in Chromium, and axe-core finds nothing."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audioguide import verify
from audioguide.build import Options, build
from audioguide.editions import export
from audioguide.guide.languages import native_name, parse_language
from tests.helpers import GUIDE_TOML, drop_language, ffmpeg, invoke, make_guide, model, need, write

SIGN_TOML = '\n[languages.bfi]\ntitle = "Test Museum: BSL guide"\nkind = "sign"\n'
WELCOME = ("---\nstop: 1\ntitle: Welcome\nvideo: media/bfi/01.mp4\n---\nWelcome to the hall.\n\n"
           "A second paragraph, longer than the first, about what the hall holds.\n\nThe last one.\n")
BELONGINGS = "---\nstop: 2\ntitle: Belongings\nvideo: media/bfi/02.webm\n---\nShoes and letters.\n"
SECONDS = 3.0


def make_video(path: Path, kind: str, seconds: float = SECONDS, video: bool = True, colour: str = "") -> Path:
    """A synthetic video (testsrc and a sine tone): `kind` mp4 (H.264/AAC) or webm (VP9/Opus)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"color=c={colour}:" if colour else "testsrc="
    inputs = (["-f", "lavfi", "-i", f"{source}size=320x240:rate=25:duration={seconds}"] if video else [])
    inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    codecs = (["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"] if kind == "mp4"
              else ["-c:v", "libvpx-vp9", "-b:v", "200k", "-c:a", "libopus"])
    if not video:
        codecs = ["-c:a", "aac"]
    subprocess.run([ffmpeg(), "-v", "error", "-y", *inputs, *codecs, "-shortest", str(path)], check=True)
    return path


def sign_guide(root: Path) -> Path:
    """The small test guide in English with a bfi language of two video stops."""
    make_guide(root, GUIDE_TOML + SIGN_TOML)
    drop_language(root, "az")
    drop_language(root, "ru")
    make_video(root / "media" / "bfi" / "01.mp4", "mp4")
    make_video(root / "media" / "bfi" / "02.webm", "webm")
    write(root / "bfi" / "01.md", WELCOME)
    write(root / "bfi" / "02.md", BELONGINGS)
    return root


def at(timestamp: str) -> float:
    """A WebVTT timestamp (webvtt-py's `start`, `end`) in seconds, to the millisecond."""
    hours, minutes, seconds = ([0] + [float(x) for x in timestamp.split(":")])[-3:]
    return hours * 3600 + minutes * 60 + seconds


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logged_build(root: Path, out: Path) -> list[str]:
    lines, log = Lines(), logging.getLogger("audioguide")
    log.addHandler(lines)
    level = log.level
    log.setLevel(logging.INFO)
    try:
        build(root, out, Options(jobs=1))
    finally:
        log.removeHandler(lines)
        log.setLevel(level)
    return lines.lines


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = sign_guide(tmp_path_factory.mktemp("sign") / "test-guide")
    logged_build(root, root.parent / "out")
    return root.parent / "out"


def test_sign_languages_are_known_and_named() -> None:
    for code, name in (("bfi", "British Sign Language"), ("ase", "American Sign Language")):
        language = parse_language(code)
        assert language is not None and language.name == name and language.iso639_2 == code
        assert native_name(code) == (name, "ltr")  # CLDR has no name for them: ISO 639-3's


def test_the_package_holds_each_video_its_poster_and_captions(signed: Path) -> None:
    import webvtt
    from PIL import Image

    root = signed.parent / "test-guide"
    found = model(signed)
    assert found.version == 6
    language = found.languages["bfi"]
    assert language.name == "British Sign Language" and language.engines == ()
    stops = {s.stop: s for s in language.stops}
    for number, source, suffix, kind, codec, sound in ((1, "01.mp4", ".mp4", "video/mp4", "h264", "aac"),
                                                       (2, "02.webm", ".webm", "video/webm", "vp9", "opus")):
        stop = stops[number]
        video = stop.video
        assert video is not None and stop.file.endswith(suffix) and stop.file.startswith("bfi/")
        data = (signed / stop.file).read_bytes()
        assert data == (root / "media" / "bfi" / source).read_bytes()  # copied as it is
        assert found.files is not None and found.files[stop.file].sha256 == hashlib.sha256(data).hexdigest()
        assert (video.type, video.codec, video.audio, video.width, video.height) == (kind, codec, sound, 320, 240)
        assert abs(video.duration - SECONDS) < 0.1 and stop.made.duration == video.duration
        assert stop.made.engine == "video" and stop.made.loudness_lufs is None
        with Image.open(signed / video.poster) as poster:
            assert poster.format == "JPEG" and poster.size == (320, 240)
            poster.load()
        assert stop.vtt is not None and video.poster in found.files and stop.vtt in found.files
        cues = webvtt.read(str(signed / stop.vtt))
        assert [c.text for c in cues] == stop.paragraphs  # one cue per paragraph
        assert at(cues[0].start) == 0 and all(at(c.end) <= video.duration + 0.001 for c in cues)
        assert all(at(a.end) == at(b.start) for a, b in zip(cues, cues[1:], strict=False))
    cues = webvtt.read(str(signed / stops[1].vtt))
    lengths = [at(c.end) - at(c.start) for c in cues]
    assert lengths[1] > lengths[0] > lengths[2]  # each as long as its paragraph's share of the text
    assert verify.verify(signed) == []
    playlist = (signed / "bfi" / "playlist.m3u8").read_text(encoding="utf-8")
    assert Path(stops[1].file).name in playlist


def test_verify_catches_a_changed_video(signed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(signed, out, symlinks=True)
    stop = model(out).languages["bfi"].stops[0]
    data = bytearray((out / stop.file).read_bytes())
    data[-10] ^= 0xFF
    (out / stop.file).write_bytes(bytes(data))
    problems = verify.verify(out)
    assert [p.path for p in problems] == [out / stop.file]
    assert "sha256" in problems[0].message


def test_a_changed_video_recopies_only_its_files(tmp_path: Path) -> None:
    root = sign_guide(tmp_path / "test-guide")
    out = tmp_path / "out"
    first = logged_build(root, out)
    assert sum("copied media/bfi/" in line for line in first) == 2
    stops = model(out).languages["bfi"].stops
    before = {name: (out / name).stat().st_mtime_ns for s in stops for name in (s.file, s.video.poster)}  # type: ignore[union-attr]
    assert not any("copied" in line for line in logged_build(root, out))  # nothing changed: nothing copied
    logged_build(root, tmp_path / "again")
    for s in stops:  # the poster frames are reproducible: the same bytes from another build
        assert s.video is not None
        assert (tmp_path / "again" / s.video.poster).read_bytes() == (out / s.video.poster).read_bytes()
    make_video(root / "media" / "bfi" / "02.webm", "webm", colour="red")
    again = logged_build(root, out)
    assert [line for line in again if "copied" in line] == \
        ["copied media/bfi/02.webm to bfi/002-belongings.webm, with its poster frame"]
    after = model(out).languages["bfi"].stops
    assert (out / after[1].file).read_bytes() == (root / "media" / "bfi" / "02.webm").read_bytes()
    assert (out / after[0].file).stat().st_mtime_ns == before[after[0].file]
    assert after[1].made.sha256 != stops[1].made.sha256
    assert verify.verify(out) == []


def test_the_guide_may_give_its_own_captions(tmp_path: Path) -> None:
    import webvtt

    root = sign_guide(tmp_path / "test-guide")
    own = "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nShoes.\n\n00:00:01.500 --> 00:00:02.900\nLetters.\n"
    write(root / "media" / "bfi" / "02.vtt", own)
    write(root / "bfi" / "02.md", BELONGINGS.replace("---\nShoes", "captions: media/bfi/02.vtt\n---\nShoes"))
    build(root, tmp_path / "out", Options(jobs=1))
    stop = model(tmp_path / "out").languages["bfi"].stops[1]
    assert stop.vtt is not None and (tmp_path / "out" / stop.vtt).read_text(encoding="utf-8") == own
    assert [c.text for c in webvtt.read(str(tmp_path / "out" / stop.vtt))] == ["Shoes.", "Letters."]
    assert verify.verify(tmp_path / "out") == []


def test_the_zip_edition_holds_the_videos(signed: Path, tmp_path: Path) -> None:
    export(signed, "zip", tmp_path / "zip")
    found = model(signed)
    with zipfile.ZipFile(next((tmp_path / "zip").glob("*.zip"))) as archive:
        names = set(archive.namelist())
        for stop in found.languages["bfi"].stops:
            assert stop.video is not None
            for name in (stop.file, stop.video.poster, stop.vtt):
                assert name in names
                assert found.files is not None
                assert hashlib.sha256(archive.read(name)).hexdigest() == found.files[name].sha256


@pytest.mark.parametrize("edition", ["numbered", "dfplayer", "single", "podcast"])
def test_a_device_edition_leaves_a_sign_language_out(signed: Path, tmp_path: Path, edition: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    options = {"base_url": "https://museum.example/podcast/"} if edition == "podcast" else {}
    with caplog.at_level(logging.WARNING, logger="audioguide"):
        try:
            export(signed, edition, tmp_path / edition, options=options)
        except Exception as e:  # noqa: BLE001  an edition may need more of a guide (podcast: published, id)
            assert "bfi" not in str(e)
    assert any(r.getMessage().startswith("bfi: a sign language") and edition in r.getMessage()
               for r in caplog.records)
    assert not [p for p in (tmp_path / edition).rglob("*") if "bfi" in p.name or p.suffix in (".mp4", ".webm")]


def check_says(root: Path, front: str) -> list[str]:
    write(root / "bfi" / "02.md", f"---\nstop: 2\ntitle: Belongings\n{front}---\nShoes and letters.\n")
    code, _, err = invoke("check", str(root))
    assert code != 0
    return [line for line in err.splitlines() if "02.md" in line]


@pytest.fixture
def sign_root(tmp_path: Path) -> Path:
    return sign_guide(tmp_path / "test-guide")


def test_bad_videos_are_one_line_errors(sign_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    media = sign_root / "media" / "bfi"
    write(media / "notes.mp4", "not a video at all\n")
    make_video(media / "sound.mp4", "mp4", video=False)
    outside = make_video(tmp_path / "elsewhere" / "out.webm", "webm")
    (media / "link.webm").symlink_to(outside)
    cases = {
        "video: media/bfi/notes.mp4\n": "which is not a video ffmpeg reads",
        "video: media/bfi/sound.mp4\n": "which holds no video (a sound file?)",
        "video: media/bfi/link.webm\n": "which is not inside the guide folder",
        "video: media/bfi/none.mp4\n": "which is not a file in test-guide/",
        "video: media/bfi/01.mp4\ncaptions: media/bfi/none.vtt\n": "captions names",
        "": "a sign-language stop needs its video",
    }
    for front, message in cases.items():
        lines = check_says(sign_root, front)
        assert len(lines) == 1 and message in lines[0], (front, lines)
        assert ":4:" in lines[0] or ":2:" in lines[0] or ":5:" in lines[0]  # file and line
    import audioguide.guide.videos as videos

    monkeypatch.setattr(videos, "MAX_VIDEO_SECONDS", 2.0)
    lines = check_says(sign_root, "video: media/bfi/02.webm\n")
    assert len(lines) == 1 and "lasts 0.1 minutes: at most" in lines[0] and ":4:" in lines[0]


def test_a_spoken_stop_may_not_name_a_video(sign_root: Path) -> None:
    write(sign_root / "en" / "02-belongings.md", "---\nstop: 2\ntitle: Belongings\nvideo: media/bfi/01.mp4\n---\n"
                                                 "Shoes and letters.\n")
    code, _, err = invoke("check", str(sign_root))
    assert code != 0
    lines = [line for line in err.splitlines() if "02-belongings.md" in line]
    assert len(lines) == 1 and "video: is for a sign language's stops" in lines[0] and ":4:" in lines[0]


# --- the phone player --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(signed: Path) -> Iterator[tuple[Any, str]]:
    """Chromium, and the package served by `audioguide serve`'s server over http: its address."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    need("chromium")
    from audioguide.serve import serving

    with serving(signed, "127.0.0.1", 0) as httpd, playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            yield chromium, f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            chromium.close()


@pytest.fixture
def page_at(served: tuple[Any, str]) -> Iterator[tuple[Any, str]]:
    """A page in a fresh context (no service worker, storage or history from another test)."""
    chromium, origin = served
    context = chromium.new_context(locale="en-US")
    try:
        yield context.new_page(), origin
    finally:
        context.close()


def until(page: Any, expression: str, timeout: float = 5000) -> None:
    page.wait_for_function(f"() => ({expression})", timeout=timeout)


@pytest.mark.parametrize(("number", "where"), [(2, "http"), (1, "http"), (2, "file")])
def test_the_player_plays_a_sign_language_stop_with_its_captions(page_at: Any, signed: Path, number: int,
                                                                  where: str) -> None:
    """Served, the video's captions are its WebVTT file (a <track>); opened from file://, where Chromium
    loads no <track>, the same cues from data.js. Either way they show by default, and the video plays."""
    axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")
    page, origin = page_at
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = origin if where == "http" else signed.as_uri()
    page.goto(f"{base}/index.html#/bfi/{number}")
    until(page, "document.getElementById('stops').children.length > 0")
    if number == 1 and not page.evaluate("document.createElement('video').canPlayType('video/mp4; "
                                         "codecs=\"avc1.42E01E, mp4a.40.2\"')"):
        pytest.skip("this Chromium plays no H.264 (built without proprietary codecs)")
    until(page, "!document.getElementById('now-video').hidden")
    video = "document.getElementById('video')"
    assert page.evaluate(f"{video}.controls && {video}.hasAttribute('playsinline')")
    assert page.evaluate(f"{video}.getAttribute('preload')") == "metadata"
    assert page.evaluate(f"{video}.poster").endswith(f"bfi/00{number}-{'welcome' if number == 1 else 'belongings'}.jpg")
    stop = model(signed).languages["bfi"].stops[number - 1]
    showing = f"Array.from({video}.textTracks).filter(t => t.mode === 'showing')"
    if where == "http":
        track = page.evaluate(f"(() => {{ const t = {video}.querySelector('track'); return t && "
                              "[t.kind, t.srclang, t.default, t.getAttribute('src')]; })()")
        assert track == ["captions", "bfi", True, Path(stop.vtt or "").name and stop.vtt]
        until(page, f"{video}.querySelector('track').readyState === 2")  # the captions loaded
    else:
        assert page.evaluate(f"{video}.querySelector('track')") is None
    until(page, f"{showing}.length === 1 && {showing}[0].kind === 'captions' && {showing}[0].cues.length === "
                f"{len(stop.paragraphs)}")
    assert page.evaluate(f"{showing}[0].cues[0].text") == stop.paragraphs[0]
    assert page.locator("#audio").evaluate("a => a.getAttribute('src')") is None
    assert page.locator("#watch-hint").is_visible() and not page.locator("#listen-hint").is_visible()
    assert page.locator("#cues p").all_text_contents() == stop.paragraphs  # the transcript beside it
    page.locator("#toggle").focus()
    page.keyboard.press("Enter")  # the player's own Play, by keyboard
    until(page, f"{video}.currentTime > 0.3 && !{video}.paused")
    page.keyboard.press("Enter")
    until(page, f"{video}.paused")
    assert errors == []
    if where == "http":  # axe-core reads the page's style sheets, which Chromium refuses it from file://
        results = axe_api.Axe().run(page)
        assert results.violations_count == 0, results.generate_report()


def test_the_commands_know_a_sign_language(sign_root: Path) -> None:
    code, out, err = invoke("check", str(sign_root))
    assert code == 0, err
    assert "bfi: 2 stops, sign-language videos" in err and "and 2 videos in 1 sign language" in out
    code, out, err = invoke("translate", "status", str(sign_root))
    assert code == 0, err
    assert out.splitlines()[-1].split() == ["engine", "video"]
    code, _, err = invoke("say", str(sign_root), "--lang", "bfi", "--stop", "1")
    assert code != 0 and err.strip().splitlines() == \
        ["bfi is a sign language: its stops are videos, and nothing is spoken"]


def test_bad_captions_are_one_line_errors(sign_root: Path) -> None:
    media = sign_root / "media" / "bfi"
    write(media / "plain.vtt", "Shoes and letters.\n")
    write(media / "late.vtt", "WEBVTT\n\n00:00:09.000 --> 00:00:10.000\nShoes.\n")
    write(media / "timing.vtt", "WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nShoes.\n")
    write(media / "empty.vtt", "WEBVTT\n")
    write(media / "notes.txt", "WEBVTT\n")
    cases = {"plain.vtt": "which is not WebVTT: its first line must be WEBVTT",
             "late.vtt": "the cue at line 3 starts after the video ends (3.0 s)",
             "timing.vtt": "line 3 is not a cue's timing",
             "empty.vtt": "which holds no cues",
             "notes.txt": "captions must be a WebVTT file (.vtt)"}
    for name, message in cases.items():
        lines = check_says(sign_root, f"video: media/bfi/02.webm\ncaptions: media/bfi/{name}\n")
        assert len(lines) == 1 and message in lines[0] and ":5:" in lines[0], (name, lines)


def test_a_sign_language_is_not_the_source(sign_root: Path) -> None:
    toml = sign_root / "guide.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('source_language = "en"', 'source_language = "bfi"'),
                    encoding="utf-8")
    code, _, err = invoke("check", str(sign_root))
    assert code != 0
    assert "guide.toml:4: source_language 'bfi' is a sign language: the source is a written language" in err


def test_without_ffprobe_the_header_ffmpeg_prints_is_read(sign_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """imageio-ffmpeg brings no ffprobe: where the system has none, `ffmpeg -i`'s header says the same."""
    import dataclasses

    import audioguide.guide.videos as videos

    probed = {name: videos.check_video(sign_root, f"media/bfi/{name}") for name in ("01.mp4", "02.webm")}
    monkeypatch.setattr(videos, "ffprobe", lambda: None)
    for name, by_ffprobe in probed.items():
        by_header = videos.check_video(sign_root, f"media/bfi/{name}")
        assert isinstance(by_ffprobe, videos.Video) and isinstance(by_header, videos.Video)
        assert abs(by_header.seconds - by_ffprobe.seconds) <= 0.01
        assert dataclasses.replace(by_header, seconds=0) == dataclasses.replace(by_ffprobe, seconds=0)
    write(sign_root / "media" / "bfi" / "notes.mp4", "not a video at all\n")
    make_video(sign_root / "media" / "bfi" / "sound.mp4", "mp4", video=False)
    assert videos.check_video(sign_root, "media/bfi/notes.mp4") == \
        "video names 'media/bfi/notes.mp4', which is not a video ffmpeg reads"
    found = videos.check_video(sign_root, "media/bfi/sound.mp4")
    assert isinstance(found, str) and "which holds no video (a sound file?)" in found
