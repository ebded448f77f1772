"""MPEG audio Layer III frames: the one table of sample rates and bitrates, and a walk over the
frame headers of a stream (what `verify` and the encoder's Info frame read). Nothing here decodes."""

from __future__ import annotations

from dataclasses import dataclass

# Sample rates by the header's version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5; 1 is reserved), and
# bitrates (kbps) by the header's bitrate index, for MPEG-1 (True) and MPEG-2 and 2.5 (False). Index 0
# (free format) and 15 are refused.
RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
KBPS = {True: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
        False: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_SAME_STREAM = 0xFFFE0C00  # sync, version, layer and sample rate: equal in every frame of one stream


def is_mpeg1(sample_rate: int) -> bool:
    return sample_rate in RATES[3]


def bitrates(sample_rate: int) -> tuple[int, ...]:
    """The CBR bitrates (kbps) an MP3 at this sample rate can have."""
    return KBPS[is_mpeg1(sample_rate)][1:]


class BadFrames(ValueError):
    """Not whole MPEG Layer III frames: `kind` is "none" (no frame header where one must be, the
    first one included), "changed" (another format mid-stream) or "cut" (the last frame incomplete),
    at byte `position`, after `frames` whole frames; for "cut", `have` of `need` bytes."""

    def __init__(self, kind: str, position: int, frames: int, have: int = 0, need: int = 0) -> None:
        super().__init__(f"{kind} at byte {position}")
        self.kind, self.position, self.frames, self.have, self.need = kind, position, frames, have, need


@dataclass(frozen=True)
class Frames:
    sound: int  # frames of sound: a Xing/Info frame is not one
    counted: int | None  # the frames of sound a Xing/Info frame says there are
    sample_rate: int
    per_frame: int  # samples

    @property
    def seconds(self) -> float:
        return self.sound * self.per_frame / self.sample_rate


def id3v2_size(data: bytes) -> int:
    """The bytes an ID3v2 tag at the start of data takes (0 when there is none)."""
    if len(data) < 10 or data[:3] != b"ID3" or any(b >= 0x80 for b in data[6:10]):
        return 0
    footer = 10 if data[3] == 4 and data[5] & 0x10 else 0
    return 10 + footer + (data[6] << 21 | data[7] << 14 | data[8] << 7 | data[9])


def read_frames(data: bytes, start: int = 0, end: int | None = None) -> Frames:
    """Walk the frame headers of the MPEG stream in data[start:end]: every one valid, one format
    throughout, the last frame complete. Raises BadFrames; an empty stream is kind "none"."""
    end = len(data) if end is None else end
    position, first, frames, tagged, counted = start, 0, 0, False, None
    while position < end:
        if end - position < 4:
            raise BadFrames("cut", position, frames, end - position, 4)
        header = int.from_bytes(data[position:position + 4], "big")
        version, layer, bitrate, rate = header >> 19 & 3, header >> 17 & 3, header >> 12 & 15, header >> 10 & 3
        if not (header >> 21 == 0x7FF and version != 1 and layer == 1 and bitrate not in (0, 15) and rate != 3):
            raise BadFrames("none", position, frames)
        if first and header & _SAME_STREAM != first & _SAME_STREAM:
            raise BadFrames("changed", position, frames)
        mpeg1 = version == 3
        size = (144 if mpeg1 else 72) * KBPS[mpeg1][bitrate] * 1000 // RATES[version][rate] + (header >> 9 & 1)
        if position + size > end:
            raise BadFrames("cut", position, frames, end - position, size)
        if not first:
            first = header
            tagged, counted = _xing(data[position:position + size], mpeg1, header)
        position += size
        frames += 1
    if not frames:
        raise BadFrames("none", position, 0)
    version = first >> 19 & 3
    return Frames(frames - tagged, counted, RATES[version][first >> 10 & 3], 1152 if version == 3 else 576)


def _xing(frame: bytes, mpeg1: bool, header: int) -> tuple[bool, int | None]:
    """Whether this (first) frame is a Xing/Info tag, and the frame count it gives (if it gives one).
    The tag follows the header, its CRC if it has one, and the side information."""
    mono, crc = header >> 6 & 3 == 3, not header >> 16 & 1
    at = 4 + 2 * crc + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))
    if frame[at:at + 4] not in (b"Xing", b"Info"):
        return False, None
    flags = int.from_bytes(frame[at + 4:at + 8], "big")
    return True, int.from_bytes(frame[at + 8:at + 12], "big") if flags & 1 else None


ID3V1_BYTES = 128
NOT_MP3 = "does not start with an ID3v2 tag: not an MP3 audioguide made"


def frame_problems(data: bytes) -> list[str]:
    """Why `data` is not an ID3v2 tag followed by whole MPEG Layer III frames and nothing else (an
    ID3v1 tag included: audioguide never writes one). Empty when it is."""
    start = id3v2_size(data)
    if not start:
        return [NOT_MP3]
    if data[-ID3V1_BYTES:-ID3V1_BYTES + 3] == b"TAG" and len(data) - ID3V1_BYTES >= start:
        try:
            read_frames(data, start, len(data) - ID3V1_BYTES)
            return ["ends in an ID3v1 tag: audioguide never writes one"]
        except BadFrames:
            pass  # "TAG" inside the audio, then: the whole is walked below
    try:
        read_frames(data, start)
    except BadFrames as e:
        if e.kind == "cut":
            return [f"the last frame is incomplete: {e.have} of its {e.need} bytes (the file is cut short)"]
        if e.position == len(data):
            return ["has no MPEG frames after its ID3v2 tag"]
        what = "the ID3v2 tag's end" if e.frames == 0 else f"frame {e.frames}"
        how = "the MPEG format changes" if e.kind == "changed" else "not an MPEG Layer III frame header"
        return [f"byte {e.position}: {how} (after {what})"]
    return []
