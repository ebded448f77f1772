"""MP3 in and out of this process: encoding by LAME (lameenc), with an Info frame in front, and
decoding by miniaudio (dr_mp3). Anything else audio (an engine's answer, intro and outro sounds,
resampling) goes through ffmpeg: ffmpeg.py."""

from __future__ import annotations

import math
import struct
from functools import cache
from pathlib import Path
from typing import Any

from audioguide.errors import AudioguideError
from audioguide.mp3.frames import KBPS, RATES, read_frames

# LAME scales its input by 0.95 in CBR mode (about -0.45 dB), so a track normalised before
# encoding comes out quieter by this much. The loudness stage aims higher by the same amount.
ENCODER_GAIN_DB = 20 * math.log10(0.95)


def decode_mp3(source: Path | bytes) -> tuple[bytes, int]:
    """An MP3 (a file, or its bytes) -> (s16le PCM, sample rate), in-process with miniaudio (dr_mp3):
    the same samples as ffmpeg gives, encoder delay and padding removed, about three times as fast."""
    import miniaudio

    path = source if isinstance(source, Path) else None
    try:
        decoded = miniaudio.mp3_read_file_s16(str(path)) if path else miniaudio.mp3_read_s16(source)  # type: ignore[arg-type]
    except miniaudio.DecodeError as e:
        raise AudioguideError(f"cannot decode MP3: {e}", path) from None
    if decoded.nchannels != 1:
        raise AudioguideError(f"expected mono MP3, found {decoded.nchannels} channels", path)
    return decoded.samples.tobytes(), decoded.sample_rate


def encode_mp3(pcm: bytes, sample_rate: int, bitrate: int, quality: int) -> bytes:
    """Mono s16le PCM -> a CBR MP3 (no tags), in this process with LAME (lameenc): half the CPU time
    of an ffmpeg process per track. `quality` is LAME's -q, 2 (slowest) to 7 (fastest). LAME
    writes no header of its own here, so an Info frame goes in front (see _info_frame)."""
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_channels(1)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)  # else LAME may pick another rate for the bitrate
    encoder.set_bit_rate(bitrate)
    encoder.set_quality(quality)
    frames = bytes(encoder.encode(pcm) + encoder.flush())
    return _info_frame(frames, len(pcm) // 2, quality) + frames


# --- the Info frame ------------------------------------------------------------------------------
# An MP3 frame that carries no sound but says how many frames and bytes follow, and how many samples
# of encoder delay and padding to drop, so players show exact durations at once and decoders return
# exactly the samples that went in. Layout: the Xing/LAME "Info" tag, as LAME's own program writes it
# for a CBR stream (lame_get_lametag_frame; http://gabriel.mp3-tech.org/mp3infotag.html). Its header
# is the stream's: readers that take the bitrate from the first frame (eyeD3, exiftool, VLC) show
# that one, and mediainfo calls a stream whose first frame differs VBR. The fields that describe
# LAME's settings, which lameenc does not tell (lowpass, ReplayGain, ATH type, noise shaping,
# preset), are 0, "unknown".

ENCODER_DELAY = 576  # samples LAME puts before the first input sample
VBR_QUALITY = 4  # LAME's -V, which its tag records for CBR streams too: its default, which lameenc keeps


def _info_frame(frames: bytes, samples: int, quality: int) -> bytes:
    """The Info frame for LAME's CBR mono `frames`, the encoding of `samples` samples at -q `quality`."""
    header = int.from_bytes(frames[:4], "big")  # LAME's frames differ only in their padding bit
    version, stream = header >> 19 & 3, header >> 12 & 15
    mpeg1, rate = version == 3, RATES[version][header >> 10 & 3]
    per_frame, side_info, scale = (1152, 17, 144) if mpeg1 else (576, 9, 72)
    offset = 4 + side_info  # a mono frame's header and side information come first
    # The stream's bitrate, as LAME and ffmpeg write it. Where that frame cannot hold the tag (below
    # 56 kbps at 22 050 Hz), the next bitrate that can, as ffmpeg does; LAME writes no tag then.
    index = next(i for i in range(stream, 15) if scale * KBPS[mpeg1][i] * 1000 // rate >= offset + 156)
    size = scale * KBPS[mpeg1][index] * 1000 // rate
    header = header & ~0xF200 | index << 12 | 1 << 16  # that bitrate, no padding, no CRC (LAME keeps the rest)
    count = read_frames(frames).sound  # about 1.5 ms a minute of audio
    padding = count * per_frame - ENCODER_DELAY - samples
    total = size + len(frames)
    toc = bytes(i * 256 // 100 for i in range(100))  # CBR: byte position grows with time
    tag = bytearray(size)
    tag[:4] = header.to_bytes(4, "big")
    tag[offset:offset + 120] = b"Info" + struct.pack(">III", 0x0F, count, total) + toc + struct.pack(
        ">I", 100 - 10 * VBR_QUALITY - quality)  # LAME's "quality", which mediainfo shows as -V and -q
    lame = offset + 120
    tag[lame:lame + 9] = b"LAME3.100"
    tag[lame + 9] = 0x01  # tag revision 0, CBR
    tag[lame + 20] = min(KBPS[mpeg1][stream], 255)
    tag[lame + 21:lame + 24] = (ENCODER_DELAY << 12 | padding).to_bytes(3, "big")
    tag[lame + 28:lame + 32] = total.to_bytes(4, "big")  # "music length": this frame and the stream
    tag[lame + 32:lame + 34] = _music_crc(frames).to_bytes(2, "big")
    tag[lame + 34:lame + 36] = _crc16(bytes(tag[:lame + 34])).to_bytes(2, "big")  # the tag's own, as LAME's
    return bytes(tag)


def encoder_quality(stream: bytes) -> int | None:
    """The LAME -q that a mono stream's Info frame, as _info_frame writes it, records; None when it
    records none."""
    header = int.from_bytes(stream[:4], "big")
    at = 4 + 2 * (not header >> 16 & 1) + (17 if header >> 19 & 3 == 3 else 9)  # header, CRC, side information
    if stream[at:at + 4] not in (b"Info", b"Xing") or not stream[at + 7] & 8 or stream[at + 120:at + 124] != b"LAME":
        return None
    quality = 100 - 10 * VBR_QUALITY - int.from_bytes(stream[at + 116:at + 120], "big")
    return quality if 0 <= quality <= 9 else None


def _crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16/ARC (polynomial 0x8005, reflected, no initial value), the checksum of the LAME tag,
    continued from `crc`."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = crc >> 1 ^ 0xA001 if crc & 1 else crc >> 1
    return crc


# The music CRC, _crc16 of every audio frame, in numpy: the stream is cut into lanes of _LANE bytes,
# whose CRCs advance side by side two bytes at a time (with a table of all 65 536 register values),
# and are then joined pairwise: CRC(a + b) = CRC(a) advanced over len(b) zero bytes, xor CRC(b). About
# 0.5 ms a minute of audio at 64 kbps, where _crc16 takes 180 ms (the tables: about 5 ms, once a process).
_LANE = 128  # bytes: a power of two


@cache
def _advance(k: int) -> Any:
    """Every CRC register value (a table of 65 536) advanced over 2**k zero bytes, k >= 1."""
    import numpy as np

    if k > 1:
        half = _advance(k - 1)
        return half[half]
    byte = np.array([_crc16(bytes([b])) for b in range(256)], dtype=np.uint16)
    two = np.arange(65536, dtype=np.uint16)
    for _ in range(2):
        two = byte[two & 0xFF] ^ (two >> 8)
    return two


def _music_crc(data: bytes) -> int:
    """_crc16(data), in numpy."""
    import numpy as np

    lanes = len(data) // _LANE
    crc = 0
    if lanes:
        words = np.frombuffer(data, dtype="<u2", count=lanes * _LANE // 2).reshape(lanes, _LANE // 2)
        state, two = np.zeros(lanes, dtype=np.uint16), _advance(1)
        for column in words.T:
            state = two[state ^ column]
        k = _LANE.bit_length() - 1  # each lane's CRC covers 2**k bytes
        while len(state) > 1:
            if len(state) % 2:  # zero bytes in front of a stream do not change its CRC (no initial value)
                state = np.concatenate((np.zeros(1, dtype=np.uint16), state))
            state = _advance(k)[state[0::2]] ^ state[1::2]
            k += 1
        crc = int(state[0])
    return _crc16(data[lanes * _LANE:], crc)
