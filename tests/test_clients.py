"""The sample guide as the programs Debian users open MP3s with read and play it: eyeD3, exiftool,
mediainfo, ffprobe, mpv, GStreamer, mp3val, id3v2 and VLC, on every track of one build.

Each reader is held to what it works out from the file, and through that to the manifest:
- exactly the manifest's duration where the reader drops LAME's encoder delay and padding (GStreamer,
  what mpv plays, ffprobe's skip and discard figures);
- the whole frames, delay and padding included, where it counts frames (mediainfo, and the duration
  ffprobe and mpv report from the Info frame, in Debian 12's FFmpeg 5.1);
- the audio bytes over the bitrate where it divides (exiftool, eyeD3).
LAME's own program's files read the same way in every one of them. The bitrate is the manifest's
everywhere; an Info frame at another bitrate than the stream's (56 kbps, as audioguide wrote it
before) made eyeD3, exiftool and VLC show 56 kb/s, their durations 15% long, and mediainfo and
mp3val call the stream VBR."""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import eyed3
import pytest

from tests.helpers import Built, info_frame, need

pytestmark = pytest.mark.client

EXACT = 0.002  # s: the manifest gives milliseconds; these readers count samples
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Track:
    path: Path
    stop: dict[str, Any]
    language: dict[str, Any]
    rate: int  # Hz
    kbps: int
    frames: int  # of sound, as the Info frame counts them
    delay_and_padding: int  # samples, as the LAME tag gives them
    audio_bytes: int  # the MPEG stream, the Info frame included (the file but its ID3 tag)

    @property
    def seconds(self) -> float:
        return float(self.stop["duration"])

    @property
    def per_frame(self) -> int:
        return 1152 if self.rate >= 32000 else 576

    @property
    def whole_frames(self) -> float:
        """What a reader that counts frames reports: the manifest's duration, delay and padding included."""
        return self.frames * self.per_frame / self.rate

    @property
    def bytes_at_bitrate(self) -> float:
        return self.audio_bytes * 8 / (self.kbps * 1000)


@pytest.fixture(scope="module")
def package(sample_package: Built) -> tuple[Path, dict[str, Any]]:
    """The sample guide, the session's one build of it (offline: espeak), in a folder other users can
    reach: VLC runs as nobody, and reads the files as the build left them."""
    out = sample_package.out
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tracks(package: tuple[Path, dict[str, Any]]) -> list[Track]:
    out, manifest = package
    audio = manifest["audio"]
    found = []
    for language in manifest["languages"].values():
        for stop in language["stops"]:
            path = out / stop["file"]
            data = path.read_bytes()
            info = info_frame(data)
            found.append(Track(path, stop, language, audio["sample_rate"], audio["bitrate_kbps"], info["frames"],
                               info["delay"] + info["padding"], info["music_length"]))
    assert len(found) == 32
    # the LAME tag's arithmetic: whole frames less delay and padding is the manifest's duration
    for track in found:
        assert abs(track.whole_frames - track.delay_and_padding / track.rate - track.seconds) <= EXACT, track.path
    return found


def each(function: Callable[[T], R], items: list[T]) -> list[R]:
    """function(item) for every item, several at a time (the programs run in their own processes)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(function, items))


def run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
                          env=env)


def test_eyed3(tracks: list[Track]) -> None:
    done = run(need("eyeD3"), "--no-color", *(str(t.path) for t in tracks))
    assert done.returncode == 0, done.stderr
    shown = re.findall(r"^Time: (\d+):(\d\d)\tMPEG2, Layer III\t\[ (~?\d+) kb/s @ (\d+) Hz - Mono \]$", done.stdout,
                       re.M)
    assert len(shown) == len(tracks), done.stdout
    for (minutes, seconds, kbps, rate), track in zip(shown, tracks, strict=True):
        assert (kbps, int(rate)) == (str(track.kbps), track.rate), track.path  # "~64" would be VBR
        assert abs(int(minutes) * 60 + int(seconds) - track.seconds) < 1, track.path
        info = eyed3.load(track.path).info
        assert info.bit_rate == (False, track.kbps)
        # eyeD3 (0.9.9) divides the audio bytes by an MPEG-1 frame's length, rounded down (417 bytes
        # for MPEG-2's 208.98 at 64 kbps and 22 050 Hz): 0.23% long; cut to hundredths
        frame = 144 * track.kbps * 1000 / track.rate
        assert abs(info.time_secs - track.bytes_at_bitrate * frame / int(frame)) <= 0.01 + EXACT, track.path


def test_exiftool(tracks: list[Track]) -> None:
    done = run(need("exiftool"), "-json", "-n", "-AudioBitrate", "-Duration", "-MPEGAudioVersion",
               *(str(t.path) for t in tracks))
    assert done.returncode == 0, done.stderr
    read = {item["SourceFile"]: item for item in json.loads(done.stdout)}
    for track in tracks:
        item = read[str(track.path)]
        assert item["AudioBitrate"] == track.kbps * 1000, track.path
        # "(approx)": the audio bytes, the Info frame's among them, over the first frame's bitrate
        assert abs(item["Duration"] - track.bytes_at_bitrate) <= EXACT, track.path
        assert abs(item["Duration"] - track.whole_frames - track.per_frame / track.rate) <= 0.005, track.path


def test_mediainfo(tracks: list[Track]) -> None:
    done = run(need("mediainfo"), "--Output=JSON", *(str(t.path) for t in tracks))
    assert done.returncode == 0, done.stderr
    for item, track in zip(json.loads(done.stdout), tracks, strict=True):
        assert item["media"]["@ref"] == str(track.path)
        (audio,) = [t for t in item["media"]["track"] if t["@type"] == "Audio"]
        assert (audio["BitRate_Mode"], audio["BitRate"]) == ("CBR", str(track.kbps * 1000)), track.path
        assert (audio["FrameCount"], audio["SamplingRate"]) == (str(track.frames), str(track.rate))
        assert abs(float(audio["Duration"]) - track.whole_frames) <= EXACT, track.path
        # LAME's -q and -V from the tag, as for LAME's own files (with a 0 there: "-V 10 -q 0")
        assert audio["Encoded_Library_Settings"] == f"-m m -V 4 -q 7 -b {track.kbps}"


def test_ffprobe(tracks: list[Track]) -> None:
    ffprobe = need("ffprobe")

    def probe(track: Track) -> dict[str, Any]:
        done = run(ffprobe, "-v", "error", "-of", "json", "-select_streams", "a", "-show_entries",
                   "stream=bit_rate,duration,sample_rate:packet=duration:packet_side_data", str(track.path))
        assert done.returncode == 0 and not done.stderr, done.stderr
        return dict(json.loads(done.stdout))

    for read, track in zip(each(probe, tracks), tracks, strict=True):
        (stream,) = read["streams"]
        assert (stream["bit_rate"], stream["sample_rate"]) == (str(track.kbps * 1000), str(track.rate)), track.path
        # its header figure counts the Info frame's frames (FFmpeg 5.1; newer ones drop delay and padding)
        packets = read["packets"]
        assert len(packets) == track.frames, track.path
        assert abs(float(stream["duration"]) - track.whole_frames) <= EXACT, track.path
        # what it decodes: the first packet skips the encoder's and the decoder's delay, the last ones the padding
        sides = [side for packet in packets for side in packet.get("side_data_list", [])]
        dropped = sum(side["skip_samples"] + side["discard_padding"] for side in sides)
        decoded = (len(packets) * track.per_frame - dropped) / track.rate
        assert abs(decoded - track.seconds) <= EXACT, track.path


def test_mpv(tracks: list[Track], tmp_path: Path) -> None:
    """mpv (see README, Development) plays each track into a file of samples, headless and untimed."""
    mpv = need("mpv")

    def play(track: Track) -> tuple[str, float]:
        pcm = tmp_path / f"{track.path.parent.name}-{track.path.stem}.pcm"
        done = run(mpv, "--no-config", "--vo=null", "--no-video", "--ao=pcm", f"--ao-pcm-file={pcm}",
                   "--ao-pcm-waveheader=no", "--audio-format=s16", "--audio-channels=mono",
                   "--term-playing-msg=PLAYING|${=duration}|${=track-list/0/demux-bitrate}", str(track.path))
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout, pcm.stat().st_size / 2 / track.rate

    for (stdout, played), track in zip(each(play, tracks), tracks, strict=True):
        duration, bitrate = re.findall(r"^PLAYING\|([\d.]+)\|(\d+)$", stdout, re.M)[0]
        assert int(bitrate) == track.kbps * 1000, track.path
        assert abs(float(duration) - track.whole_frames) <= EXACT, track.path  # FFmpeg 5.1's figure, as ffprobe's
        assert abs(played - track.seconds) <= EXACT, track.path


# GStreamer's mpg123 decoder before 1.22.11 and 1.24.1 asks for an empty buffer when a frame is
# nothing but encoder delay, which the first one always is at MPEG-2's 576 samples a frame (LAME's
# delay and the decoder's are 1 105 samples): this CRITICAL, once a track, for LAME's own files too.
# https://gitlab.freedesktop.org/gstreamer/gstreamer/-/issues/3365 (Debian 12 has 1.22.0)
GST_EMPTY_BUFFER = re.compile(r"GStreamer-Audio-CRITICAL \*\*: [\d:.]+: gst_audio_decoder_allocate_output_buffer: "
                              r"assertion 'size > 0' failed$")


def gst_complaints(output: str, version: tuple[int, ...]) -> list[str]:
    fixed = version >= (1, 24, 1) or (1, 22, 11) <= version < (1, 23)
    return [line for line in output.splitlines()
            if ("CRITICAL" in line or "WARNING" in line) and (fixed or not GST_EMPTY_BUFFER.search(line))]


def test_gstreamer(tracks: list[Track]) -> None:
    discoverer, launch, inspect = need("gst-discoverer-1.0"), need("gst-launch-1.0"), need("gst-inspect-1.0")
    about = run(inspect, "mpg123audiodec").stdout
    version = tuple(int(n) for n in re.search(r"^\s*Version\s+(\d+)\.(\d+)\.(\d+)", about, re.M).groups())  # type: ignore[union-attr]

    def discover(track: Track) -> tuple[str, str]:
        found = run(discoverer, "-v", str(track.path))
        assert found.returncode == 0, found.stdout + found.stderr
        # the discoverer stops before the parser has posted a bitrate ("Bitrate: 0", for LAME's own
        # files too); playing the file does post it
        played = run(launch, "-t", "filesrc", f"location={track.path}", "!", "decodebin", "!", "fakesink")
        assert played.returncode == 0, played.stdout + played.stderr
        return found.stdout + found.stderr, played.stdout + played.stderr

    for (found, played), track in zip(each(discover, tracks), tracks, strict=True):
        assert gst_complaints(found + played, version) == [], track.path
        h, m, s = re.search(r"^\s*Duration: (\d+):(\d+):([\d.]+)$", found, re.M).groups()  # type: ignore[union-attr]
        assert abs(int(h) * 3600 + int(m) * 60 + float(s) - track.seconds) <= EXACT, track.path
        assert "channel mode: mono" in found and f"rate=(int){track.rate}" in found
        assert set(re.findall(r"^\s+bitrate: (\d+)$", played, re.M)) == {str(track.kbps * 1000)}, track.path


def test_mp3val(tracks: list[Track]) -> None:
    done = run(need("mp3val"), *(str(t.path) for t in tracks))
    assert done.returncode == 0, done.stdout
    assert [line for line in done.stdout.splitlines() if line.startswith(("WARNING", "ERROR"))] == []
    for track in tracks:
        # the Info frame at the stream's bitrate: CBR, as for LAME's own files (another made it "Xing header")
        assert f'INFO: "{track.path}": {track.frames + 1} MPEG frames (MPEG 2 Layer III), +ID3v2, CBR' in done.stdout


def test_id3v2_shows_azerbaijani_and_russian_intact(tracks: list[Track]) -> None:
    """id3lib's id3v2 reads ID3v2.3 (UTF-16 text), and prints it in the locale's encoding."""
    chosen = [t for t in tracks if t.language["iso639_2"] in ("aze", "rus")]
    done = run(need("id3v2"), "-l", *(str(t.path) for t in chosen), env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert done.returncode == 0, done.stderr
    blocks = re.split(r"^id3v2 tag info for (.+):$", done.stdout, flags=re.M)[1:]
    shown = dict(zip(blocks[0::2], blocks[1::2], strict=True))
    assert len(shown) == len(chosen) == 16
    for track in chosen:
        lines = shown[str(track.path)].splitlines()
        assert f"TIT2 (Title/songname/content description): {track.stop['title']}" in lines, track.path
        assert f"TALB (Album/Movie/Show title): {track.language['title']}" in lines, track.path
    assert any(not t.stop["title"].isascii() for t in chosen)  # Şəxsi əşyalar, Личные вещи ...


def test_vlc_plays_every_playlist(package: tuple[Path, dict[str, Any]]) -> None:
    """cvlc, headless, 32 times real time, one process a playlist. It refuses to run as root, so as
    root it runs as nobody (setpriv), which reads the package as any other user would."""
    cvlc = need("cvlc")
    out, manifest = package
    home = out.parent / "vlc-home"  # where VLC keeps its settings
    home.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        prefix = [need("setpriv"), f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", "--"]
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "HOME": str(home)}

    def play(code: str) -> subprocess.CompletedProcess[str]:
        return run(*prefix, cvlc, "-vv", "--intf", "dummy", "--aout", "dummy", "--no-video", "--rate", "32",
                   "--no-random", "--no-loop", "--no-repeat", "--play-and-exit",
                   str(out / manifest["languages"][code]["playlist"]), timeout=120, env=env)

    codes = list(manifest["languages"])
    for code, done in zip(codes, each(play, codes), strict=True):
        assert done.returncode == 0, done.stderr[-2000:]
        log = done.stdout + done.stderr
        entries = [Path(s["file"]).name for s in manifest["languages"][code]["stops"]]
        opened = re.findall(r"main input debug: `file://.*/([^/]+)' successfully opened", log)
        assert opened == ["playlist.m3u8", *entries], (code, opened)
        assert log.count("main input debug: EOF reached") == len(entries) + 1, code
        bitrates = re.findall(r"MPGA channels:1 samplerate:(\d+) bitrate:(\d+)", log)
        audio = manifest["audio"]
        assert bitrates == [(str(audio["sample_rate"]), str(audio["bitrate_kbps"]))] * len(entries), code
