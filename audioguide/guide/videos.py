"""Sign-language videos: a stop of a sign language ([languages.<code>] kind = "sign") is a video the
guide supplies (front matter `video: media/bfi/03.mp4`), with captions made from its script's text or
a WebVTT file the guide supplies (`captions: media/bfi/03.vtt`). Here both are checked while the guide
is read: inside the guide folder, regular files, bounded in bytes; the video probed by ffprobe (bounded
in time) for its container, codecs, duration and size in pixels; where there is no ffprobe (imageio-ffmpeg
brings ffmpeg alone), from the header audioguide's ffmpeg prints of it. Nothing is synthesised or re-encoded:
the build copies the video as it is (audioguide/videos.py)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from audioguide.files import Unreadable, die_with_parent, read_limited
from audioguide.guide.media import inside_guide
from audioguide.guide.narration import quoted

MAX_VIDEO_BYTES = 500 << 20  # 15 minutes of 1080p H.264 at 4 Mbit/s is 450 MB
MAX_VIDEO_SECONDS = 15 * 60.0  # a stop, not a film: longer belongs in several stops
MAX_WIDTH, MAX_HEIGHT = 1920, 1080  # a phone shows no more (either way round: portrait video too)
MIN_VIDEO_SECONDS = 0.5
MAX_CAPTIONS_BYTES = 256 * 1024  # as a script
PROBE_SECONDS = 30.0
# container -> (its file name suffixes, its MIME type, video codecs, audio codecs) as ffprobe names them
KINDS = {
    "mp4": ((".mp4", ".m4v"), "video/mp4", ("h264",), ("aac",)),
    "webm": ((".webm",), "video/webm", ("vp8", "vp9", "av1"), ("opus", "vorbis")),
}
_TIMING = re.compile(r"^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})[ \t]+-->[ \t]+(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})"
                     r"(?:[ \t].*)?$")


@dataclass(frozen=True)
class Video:
    path: Path  # resolved, inside the guide folder
    name: str  # as the script names it: "media/bfi/03.mp4"
    container: str  # "mp4" or "webm"
    codec: str  # the video's: "h264", "vp9" ...
    audio: str | None  # the sound's codec; None: a silent video (most sign-language videos are)
    width: int
    height: int
    seconds: float  # as ffprobe measured it
    size: int  # bytes

    @property
    def mime(self) -> str:
        return KINDS[self.container][1]

    @property
    def suffix(self) -> str:
        return KINDS[self.container][0][0]


def ffprobe() -> str | None:
    """ffprobe: beside the ffmpeg imageio-ffmpeg brings (it brings none today), else the system's; None
    where there is none (then the header `ffmpeg -i` prints is read: _header)."""
    from audioguide.ffmpeg import executable

    beside = Path(executable()).with_name("ffprobe")
    return str(beside) if beside.is_file() else shutil.which("ffprobe")


def probe(path: Path) -> dict | str:
    """ffprobe's account of `path` (format and streams, as JSON), or why it has none. ffprobe may open
    that file only (no network, nothing a playlist names) and is stopped after PROBE_SECONDS."""
    exe = ffprobe()
    if exe is None:
        return _header(path)
    args = [exe, "-v", "error", "-protocol_whitelist", "file", "-show_entries",
            "format=format_name,duration:stream=codec_type,codec_name,width,height", "-of", "json", str(path)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=PROBE_SECONDS, check=False,
                              preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        return f"took ffprobe more than {PROBE_SECONDS:g} s to read"
    except OSError as e:
        return f"cannot be checked: ffprobe did not run ({e})"
    try:
        found = json.loads(done.stdout.decode("utf-8", "replace") or "null")
    except ValueError:
        found = None
    if done.returncode != 0 or not isinstance(found, dict) or not isinstance(found.get("format"), dict):
        return "is not a video ffmpeg reads"
    return found


_INPUT = re.compile(r"^Input #0, ([^ ]+), from ", re.M)
_DURATION = re.compile(r"^  Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?),", re.M)
_STREAM = re.compile(r"^ +Stream #0:\d+[^:]*: (Video|Audio): (\w+)([^\n]*)", re.M)
_SIZE = re.compile(r"[ ,](\d{1,5})x(\d{1,5})[ ,]")


def _header(path: Path) -> dict | str:
    """What ffprobe would say of `path` (format, duration, streams), read from the header the ffmpeg
    audioguide brings prints (`ffmpeg -i`), where there is no ffprobe: durations to 10 ms."""
    from audioguide.ffmpeg import executable

    args = [executable(), "-nostdin", "-hide_banner", "-protocol_whitelist", "file", "-i", str(path)]
    try:
        done = subprocess.run(args, capture_output=True, timeout=PROBE_SECONDS, check=False,
                              preexec_fn=die_with_parent)
    except subprocess.TimeoutExpired:
        return f"took ffmpeg more than {PROBE_SECONDS:g} s to read"
    except OSError as e:
        return f"cannot be checked: ffmpeg did not run ({e})"
    text = done.stderr.decode("utf-8", "replace")
    kind, length = _INPUT.search(text), _DURATION.search(text)
    if kind is None or length is None:
        return "is not a video ffmpeg reads"
    streams = []
    for what, codec, rest in _STREAM.findall(text):
        size = _SIZE.search(rest + " ") if what == "Video" else None
        streams.append({"codec_type": what.lower(), "codec_name": codec,
                        **({"width": int(size[1]), "height": int(size[2])} if size else {})})
    hours, minutes, seconds = length.groups()
    return {"format": {"format_name": kind[1], "duration": str(int(hours) * 3600 + int(minutes) * 60 + float(seconds))},
            "streams": streams}


def check_video(root: Path, value: str) -> Video | str:
    """The video a script names (relative to the guide folder `root`), or the problem with it."""
    named = f"video names {quoted(value)}"
    path = inside_guide(root, value)
    if path is None:
        return f"{named}, which is not inside the guide folder: copy it into the guide's media/ folder"
    if not path.is_file():
        return f"{named}, which is not a file in {root.resolve().name}/"
    size = path.stat().st_size
    if size > MAX_VIDEO_BYTES:
        return f"{named}, which is {size / 2**20:.0f} MiB: at most {MAX_VIDEO_BYTES >> 20} MiB, make it smaller"
    found = probe(path)
    if isinstance(found, str):
        return f"{named}, which {found}"
    return _described(path, value, size, found)


def _described(path: Path, value: str, size: int, found: dict) -> Video | str:
    """The video ffprobe described as `found`, or what is wrong with it."""
    named = f"video names {quoted(value)}"
    want = "MP4 (H.264 video, AAC sound) or WebM (VP8, VP9 or AV1 video, Opus or Vorbis sound)"
    formats = str(found["format"].get("format_name", "")).split(",")
    container = next((c for c in KINDS if c in formats and path.suffix.lower() in KINDS[c][0]), None)
    streams = [s for s in found.get("streams", ()) if isinstance(s, dict)]
    video = [s for s in streams if s.get("codec_type") == "video" and s.get("codec_name") not in ("mjpeg", "png")]
    sound = [s for s in streams if s.get("codec_type") == "audio"]
    if not video:
        return f"{named}, which holds no video (a sound file?): a sign-language stop is a video, {want}"
    if container is None:
        return f"{named}: a video must be {want}, named .mp4 or .webm as it is"
    _, _, codecs, sounds = KINDS[container]
    codec, audio = str(video[0].get("codec_name")), str(sound[0].get("codec_name")) if sound else None
    if codec not in codecs or (audio is not None and audio not in sounds):
        return f"{named}, which is {container} with {codec} video and {audio or 'no'} sound: a video must be {want}"
    width, height = video[0].get("width"), video[0].get("height")
    try:
        seconds = float(found["format"].get("duration", "nan"))
    except (TypeError, ValueError):
        seconds = float("nan")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return f"{named}, whose size in pixels ffprobe cannot tell: save it again"
    if max(width, height) > max(MAX_WIDTH, MAX_HEIGHT) or min(width, height) > min(MAX_WIDTH, MAX_HEIGHT):
        return f"{named}, which is {width}x{height} pixels: at most {MAX_WIDTH}x{MAX_HEIGHT}, make it smaller"
    if not seconds >= MIN_VIDEO_SECONDS:
        return f"{named}, which lasts {0 if seconds != seconds else seconds:.2f} s: too short to be a stop"
    if seconds > MAX_VIDEO_SECONDS:
        return (f"{named}, which lasts {seconds / 60:.1f} minutes: at most {MAX_VIDEO_SECONDS / 60:g}, "
                "split the stop")
    return Video(path, value, container, codec, audio, width, height, round(seconds, 3), size)


@dataclass(frozen=True)
class Captions:
    name: str  # as the script names it
    text: str  # the WebVTT file, as the package will have it (UTF-8, \n line ends, no byte order mark)
    cues: int


def check_captions(root: Path, value: str, seconds: float | None) -> Captions | str:
    """The WebVTT captions a script names, read and checked (a WEBVTT header, cues whose times are in
    order and inside the video's `seconds`), or the problem with them."""
    named = f"captions names {quoted(value)}"
    path = inside_guide(root, value)
    if path is None:
        return f"{named}, which is not inside the guide folder: copy it into the guide's media/ folder"
    if path.suffix.lower() != ".vtt":
        return f"{named}: captions must be a WebVTT file (.vtt)"
    try:
        raw = read_limited(path, MAX_CAPTIONS_BYTES, inside=root.resolve(), what="it")
        text = raw.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except Unreadable as e:
        return f"{named}, which {e.reason.removeprefix('it ')}"
    except UnicodeDecodeError:
        return f"{named}, which is not UTF-8: save it as UTF-8"
    lines = text.split("\n")
    if not re.fullmatch(r"WEBVTT(?:[ \t].*)?", lines[0]):
        return f"{named}, which is not WebVTT: its first line must be WEBVTT"
    cues = 0
    for number, line in enumerate(lines, 1):
        if "-->" not in line:
            continue
        m = _TIMING.match(line.strip())
        times = [int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000
                 for h, mi, s, ms in (m.groups()[:4], m.groups()[4:])] if m else []
        if not times or times[1] < times[0]:
            return f"{named}: line {number} is not a cue's timing (00:00:01.000 --> 00:00:04.000)"
        if seconds is not None and times[0] > seconds:
            return f"{named}: the cue at line {number} starts after the video ends ({seconds:.1f} s)"
        cues += 1
    if not cues:
        return f"{named}, which holds no cues"
    return Captions(value, text if text.endswith("\n") else text + "\n", cues)
