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

The rules for DEST are the other editions' (export.py): files as this export makes them are left
alone, anything else refused unless --clean; each file is written to a temp name, then renamed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from audioguide.editions.base import Exported, Planned, edition_key, package_file, track_audio, write_plan
from audioguide.errors import AudioguideError
from audioguide.manifest import MANIFEST, Manifest, Stop


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
    """Every built track of a language decoded, in stop order, and joined."""
    from audioguide.mp3.codec import decode_mp3, encoder_quality

    stops = sorted(model.languages[code].stops, key=lambda s: s.stop)
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
    return "\n\n".join(f"{s.stop}. {s.title}\n\n{s.transcript}".rstrip() for s, _, _ in joined.stops)


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
                     publisher=model.guide.publisher, language=language.iso639_2, transcript=_transcript(joined),
                     comment="", copyright=model.guide.copyright, cover=cover[0] if cover else None,
                     cover_mime="image/png" if cover and cover[1] == ".png" else "image/jpeg")
    chapters = [Chapter(f"stop{s.stop}", _ms(start, rate), _ms(end, rate), s.title, s.transcript,
                        model.languages.get(s.fallback or code, language).iso639_2)  # a stand-in's own language
                for s, start, end in joined.stops]
    version = 4 if model.audio.id3_version == "2.4" else 3  # the package's
    tag = chapters_tag(tags, ("TIT2", "TALB", "TPE1", "TPE2", "TLAN", "TCON", "USLT::{lang}", "TCOP"), chapters,
                       version)
    return tag + encode_mp3(joined.pcm, rate, model.audio.bitrate_kbps, joined.quality)


def _escaped(text: str) -> str:
    """Text as an ffmetadata value: `=`, `;`, `#`, `\\` and line ends escaped with a backslash."""
    return re.sub(r"([=;#\\\n])", r"\\\1", text.replace("\r", ""))


def ffmetadata(model: Manifest, code: str, joined: Joined) -> str:
    """The M4B's tags and chapters, as ffmpeg's ffmetadata file: chapter times in samples."""
    language = model.languages[code]
    tags = {"title": language.title, "album": language.title, "artist": model.guide.publisher,
            "album_artist": model.guide.publisher, "genre": "Speech", "copyright": model.guide.copyright or "",
            "lyrics": _transcript(joined)}
    lines = [";FFMETADATA1", *(f"{key}={_escaped(value)}" for key, value in tags.items() if value)]
    for s, start, end in joined.stops:
        lines += ["[CHAPTER]", f"TIMEBASE=1/{model.audio.sample_rate}", f"START={start}", f"END={end}",
                  f"title={_escaped(s.title)}"]
    return "\n".join(lines) + "\n"


def m4b(out: Path, model: Manifest, code: str, joined: Joined) -> bytes:
    from audioguide.ffmpeg import encode_m4b

    return encode_m4b(joined.pcm, model.audio.sample_rate, model.audio.bitrate_kbps,
                      ffmetadata(model, code, joined), model.languages[code].iso639_2, _cover(out, model))


def plan(out: Path, model: Manifest) -> list[Planned]:
    """The edition's files in the order they are written: per language, the MP3, then the M4B."""
    return [planned for code, name in names(model).items() for planned in _language(out, model, code, name)]


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


def export_single(out: Path, model: Manifest, dest: Path, clean: bool, base_url: str | None) -> Exported:
    return write_plan(dest, [], plan(out, model), "single", clean, edition_key(out, "single"))
