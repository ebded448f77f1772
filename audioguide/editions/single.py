"""The single edition of `audioguide export`: per language, the whole tour in one file, for audiobook
and podcast apps and for visitors who listen before or after the visit.

- `<guide>-<lang>.mp3`: every stop's track in stop order, with ID3 chapters: a CHAP frame per stop
  (its title, and its transcript as a USLT sub-frame), a CTOC listing them in order, the cover once,
  the guide's title, the publisher, the language and the whole transcript.
- `<guide>-<lang>.m4b`: the same audio in AAC, with MP4 chapters, made by ffmpeg (ffmpeg.encode_m4b).

How the MP3 is joined. Each built track starts with an Info frame and carries LAME's encoder delay
(576 samples, and the decoder's 529) and padding; concatenating their frames would leave that much
near-silence at every join (about 50 ms at 22 050 Hz) in a file longer than its tracks, and chapter
times would have to guess what each player skips. So every track is decoded (mp3/codec.py: exactly
the samples that were encoded) and the concatenation encoded once, by the same encoder at the
package's bitrate and the tracks' LAME quality, with one Info frame: each chapter starts at the
sample its stop starts (to the millisecond ID3 counts in), and the file decodes to exactly as many
samples as the tracks together. The price is one more generation of MP3 coding noise (README,
"Editions for devices"). The M4B's chapters count in samples, so they are exact too.

The rules for DEST are the other editions' (editions/base.py): files as this export makes them are left
alone, anything else refused unless --clean; each file is written to a temp name, then renamed.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audioguide.editions.base import Edition, Plan, Planned, edition_key, package_file, track_audio
from audioguide.errors import AudioguideError
from audioguide.manifest import MANIFEST, Manifest, Stop

log = logging.getLogger("audioguide")


@dataclass(frozen=True)
class Joined:
    """A language's stops, decoded and joined: the PCM (mono s16le) and where each stop starts and ends in
    it (samples), in stop order."""

    pcm: bytes
    stops: tuple[tuple[Stop, int, int], ...]
    quality: int  # LAME -q the tracks were encoded with


def _ms(samples: int, rate: int) -> int:
    """Samples as whole milliseconds, rounded: what a CHAP frame counts in."""
    return (samples * 1000 + rate // 2) // rate


def names(model: Manifest) -> dict[str, str]:
    """Each language's file name, without its extension: `<guide slug>-<code>`."""
    from slugify import slugify

    slug = slugify(model.guide.name) or "audioguide"
    for code in model.languages:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", code):
            raise AudioguideError(f"language code {code!r} cannot be part of a file name")
    return {code: f"{slug}-{code}" for code, language in model.languages.items() if language.stops}


def join(out: Path, model: Manifest, code: str) -> Joined:
    """Every built track of a language decoded, in the package's order (stop order; a tour's own), and joined."""
    from audioguide.mp3.codec import decode_mp3, encoder_quality

    stops = model.languages[code].stops
    if len({s.stop for s in stops}) != len(stops):
        raise AudioguideError(f"{code} has a stop number twice; build the package again", out / MANIFEST)
    pieces, placed, at, quality = [], [], 0, None
    for s in stops:
        audio = track_audio(out, s)
        pcm, rate = decode_mp3(audio)
        if rate != model.audio.sample_rate:
            raise AudioguideError(f"is at {rate} Hz, not the package's {model.audio.sample_rate}; build the "
                                  "package again", out / s.file)
        quality = quality if quality is not None else encoder_quality(audio)
        pieces.append(pcm)
        placed.append((s, at, at + len(pcm) // 2))
        at += len(pcm) // 2
    default = 7 if model.audio.bitrate_kbps >= 48 else 3  # the build's default (guide/config.py)
    return Joined(b"".join(pieces), tuple(placed), default if quality is None else quality)


def _transcript(joined: Joined) -> str:
    """The whole tour's transcript: each stop's number and title, then its text."""
    return "\n\n".join(f"{s.stop}. {s.title}\n\n{s.named_transcript}".rstrip() for s, _, _ in joined.stops)


GENRE = "Audiobook"  # the genre Audible's own audiobooks carry; apps file the M4B by stik, below, too
AUDIOBOOK = 2  # the iTunes media kind (stik) of an audiobook: Apple Books and iTunes shelve it as one


def narrator(model: Manifest, code: str) -> str | None:
    """Who speaks the language's book, as the build recorded it: each engine and voice, in the order
    the stops first use them ("piper en_US-joe-medium", "espeak az"); a stand-in's voice too, as it
    speaks in the book. A recording names no one (its voice is its file): None when only recordings speak."""
    stops = model.languages[code].stops
    voices = dict.fromkeys(f"{s.made.engine} {s.made.voice}" for s in stops if s.made.engine != "recording")
    return ", ".join(voices) or None


def _cover(out: Path, model: Manifest) -> tuple[bytes, str] | None:
    """The cover's bytes, as the manifest records them, and its extension (.png or .jpg)."""
    name = model.guide.cover
    record = model.owned().get(name) if name else None
    if name is None or record is None:
        return None
    return package_file(out, name, record), ".png" if name.lower().endswith(".png") else ".jpg"


def mp3(out: Path, model: Manifest, code: str, joined: Joined) -> bytes:
    """The language's tour in one MP3: its ID3 tag (chapters, the cover), then one encoding of every stop."""
    from audioguide.mp3.codec import encode_mp3
    from audioguide.mp3.tags import Chapter, TrackTags, chapters_tag

    language, rate = model.languages[code], model.audio.sample_rate
    cover = _cover(out, model)
    tags = TrackTags(title=language.title, stop=0, position=1, total=1, album=language.title,
                     publisher=model.publisher(code), language=language.iso639_2, transcript=_transcript(joined),
                     comment="", copyright=model.guide.copyright, cover=cover[0] if cover else None,
                     cover_mime="image/png" if cover and cover[1] == ".png" else "image/jpeg")
    chapters = [Chapter(f"stop{s.stop}", _ms(start, rate), _ms(end, rate), s.title, s.named_transcript,
                        model.languages.get(s.fallback or code, language).iso639_2)  # a stand-in's own language
                for s, start, end in joined.stops]
    version = 4 if model.audio.id3_version == "2.4" else 3  # the package's
    tag = chapters_tag(tags, ("TIT2", "TALB", "TPE1", "TPE2", "TLAN", "USLT::{lang}", "TCOP"), chapters,
                       version, _book_frames(model, code))
    return tag + encode_mp3(for_lame(joined.pcm, rate), rate, model.audio.bitrate_kbps, joined.quality)


def _book_frames(model: Manifest, code: str) -> list[Any]:
    """The MP3's frames for what audiobook apps show: genre, narrator (TCOM: Audiobookshelf and others
    take the narrator from the composer), publisher, year (TDRC; TYER and TDAT in ID3v2.3) and the
    description (COMM, no description of its own: what players show as the comment)."""
    from mutagen.id3 import COMM, TCOM, TCON, TDRC, TPUB

    iso = model.languages[code].iso639_2
    frames: list[Any] = [TCON(encoding=3, text=GENRE)]
    if voices := narrator(model, code):
        frames.append(TCOM(encoding=3, text=voices))
    frames.append(TPUB(encoding=3, text=model.publisher(code)))
    if model.guide.published:
        frames.append(TDRC(encoding=3, text=model.guide.published))
    if text := model.description(code):
        frames.append(COMM(encoding=3, lang=iso, desc="", text=text))
    return frames


def for_lame(pcm: bytes, rate: int) -> bytes:
    """The joined tracks turned up by what LAME takes off (ENCODER_GAIN_DB: it scales its input by
    0.95), so that the MP3 decodes at the tracks' own loudness, as mastering does for each track. The
    tracks were limited under the package's ceiling before that scaling, so this gives LAME what
    mastering gave it: peaks at the ceiling plus 0.45 dB, which LAME brings back under it. Only where
    that would pass full scale (a ceiling over -0.5 dBTP) are the samples turned down, around those
    spots alone (limit.limit_spots), rather than clipped."""
    import numpy as np

    from audioguide.audio import measure
    from audioguide.audio.limit import limit_spots
    from audioguide.mp3.codec import ENCODER_GAIN_DB

    x = measure.samples(pcm) * np.float32(10 ** (-ENCODER_GAIN_DB / 20))
    full = 32767 / 32768
    if len(x) and float(np.abs(x).max()) > full:
        x = limit_spots(x, x, full, full / 10 ** (measure.INTERSAMPLE_HEADROOM_DB / 20), rate)
    return measure.pcm(x)


def _escaped(text: str) -> str:
    """Text as an ffmetadata value: `=`, `;`, `#`, `\\` and line ends escaped with a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", text.replace("\r", ""))


def ffmetadata(model: Manifest, code: str, joined: Joined) -> str:
    """The M4B's tags and chapters, as ffmpeg's ffmetadata file: chapter times in samples."""
    language = model.languages[code]
    text = model.description(code) or ""
    tags = {"title": language.title, "album": language.title, "artist": model.publisher(code),
            "album_artist": model.publisher(code), "composer": narrator(model, code) or "", "genre": GENRE,
            "date": model.guide.published or "", "description": _short(text), "synopsis": text,
            "media_type": str(AUDIOBOOK), "copyright": model.guide.copyright or "", "lyrics": _transcript(joined)}
    lines = [";FFMETADATA1", *(f"{key}={_escaped(value)}" for key, value in tags.items() if value)]
    for s, start, end in joined.stops:
        lines += ["[CHAPTER]", f"TIMEBASE=1/{model.audio.sample_rate}", f"START={start}", f"END={end}",
                  f"title={_escaped(s.title)}"]
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int = 255) -> str:
    """A description as iTunes's `desc` holds it (255 characters): cut at a word, with an ellipsis.
    The whole text is the long description (`ldes`, ffmpeg's "synopsis")."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(None, 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "\u2026"


def aac_kbps(mp3_kbps: int) -> int:
    """The M4B's AAC bitrate for a package's MP3 bitrate: 13/16 of it (52 kbps for 64). ffmpeg's encoder
    spends more than it is asked on speech (up to 1.16 times on the sample guide's Russian), and at
    this rate its M4B stays under the MP3's size with less coding noise than it had at the MP3's rate
    with the default search (benchmarks/aac_rate.py; README, "Editions for devices")."""
    return max(8, round(mp3_kbps * 13 / 16))


def m4b(out: Path, model: Manifest, code: str, joined: Joined) -> bytes:
    from audioguide.ffmpeg import encode_m4b

    data = encode_m4b(joined.pcm, model.audio.sample_rate, aac_kbps(model.audio.bitrate_kbps),
                      ffmetadata(model, code, joined), model.languages[code].iso639_2, _cover(out, model))
    return _with_atoms(data, narrator(model, code), model.publisher(code))


def _with_atoms(data: bytes, voices: str | None, publisher: str) -> bytes:
    """The M4B with the atoms ffmpeg's muxer does not write, added by mutagen: the narrator (`©nrt`,
    which Apple Books shows) and the publisher (`©pub`, and the iTunes freeform `publisher` that
    ffprobe, and the servers built on it such as Audiobookshelf, read). mutagen rewrites the item list
    in place in the index, which stays in front of the audio, and moves the chunk offsets with it;
    the same input gives the same bytes."""
    from io import BytesIO

    from mutagen.mp4 import MP4, MP4FreeForm

    buffer = BytesIO(data)
    book = MP4(buffer)
    assert book.tags is not None  # ffmpeg wrote the item list
    if voices:
        book.tags["\xa9nrt"] = [voices]
    book.tags["\xa9pub"] = [publisher]
    book.tags["----:com.apple.iTunes:publisher"] = [MP4FreeForm(publisher.encode("utf-8"))]
    buffer.seek(0)
    book.save(buffer, padding=lambda info: 0)
    return buffer.getvalue()


def planned(out: Path, model: Manifest) -> list[Planned]:
    """The edition's files in the order they are written: per language, the MP3, then the M4B."""
    return [file for code, name in names(model).items() for file in _language(out, model, code, name)]


def _language(out: Path, model: Manifest, code: str, name: str) -> list[Planned]:
    """A language's two files, made from its stops decoded once (checking DEST makes the files there
    already, to compare them, and writing makes those that are not: the decoded audio is kept between
    them, and let go when the M4B, the last, is made). A file's bytes are not kept: one language's
    audio at a time is in memory."""
    joined = functools.cache(functools.partial(join, out, model, code))

    def book() -> bytes:
        data = m4b(out, model, code, joined())
        joined.cache_clear()
        return data

    return [Planned(f"{name}.mp3", lambda: mp3(out, model, code, joined())), Planned(f"{name}.m4b", book)]


class Single(Edition):
    name = "single"
    about = "per language, one MP3 and one M4B with a chapter per stop"

    def plan(self, out: Path, model: Manifest) -> Plan:
        source = model.languages.get(model.guide.source_language)
        for code, name in names(model).items():
            if model.guide.description and model.description(code) is None:
                log.warning("%s.m4b and %s.mp3 get no description: the guide's is in %s, not %s; give "
                            "[languages.%s] description in guide.toml", name, name,
                            source.name if source else model.guide.source_language, model.languages[code].name, code)
        return Plan([], planned(out, model), edition_key(out, self.name))
