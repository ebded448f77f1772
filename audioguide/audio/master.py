"""Mastering: a track's raw audio -> one mono MP3 at the target loudness, with its true peak under
the ceiling: checked on the decoded MP3 where coding noise was not measured to stay inside the
limiter's margin (needs_verifying). numpy loads only when a track is mastered: planning a build
reads MASTERING and needs_verifying, and a no-op build needs numpy for nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audioguide.guide.config import AudioConfig

# What master makes of the same speech: part of every audio key, so that tracks are made again
# when the loudness stage, the limiter or the encoder changes what comes out. Bump it with them.
MASTERING = 5  # 2: in-process LAME, the limiter on 2 ms blocks; 3: espeak's MP3s not decoded again; 4: LAME's Info tag;
# 5: the meter's spectra in float64 under numpy 2 too
PEAK_MARGIN_DB = 1.5  # aim this far under the ceiling: room for MP3 coding noise (measured, redone if over)
PEAK_SAFETY_DB = 0.05  # how far under the ceiling a measured MP3 must be (meters differ slightly)


def needs_verifying(settings: AudioConfig, engine_verify_mp3: bool) -> bool:
    """Whether a track's MP3 must be decoded to check its true peak. It need not only where MP3 coding
    noise was measured to stay inside PEAK_MARGIN_DB: the speech of an engine measured so (espeak,
    whose verify_mp3 is False: see the README), with no intro or outro sound, encoded at -q 7 with
    64 kbps for 22 050 Hz or more bits a sample."""
    measured = (settings.intro is None and settings.outro is None and settings.encoder_quality == 7
                and settings.bitrate * 22050 >= 64 * settings.sample_rate)
    return settings.verify or engine_verify_mp3 or not measured


@dataclass(frozen=True)
class Mastered:
    """A finished MP3: its loudness as a player decodes it (measured on the decoded MP3 when verified,
    else on what LAME was given, at the MP3's level: within 0.011 LU of it), and its true peak as a
    player decodes it, or None when the MP3 was not decoded; then input_true_peak is the true peak of
    what LAME was given, at the MP3's level (coding noise adds to it in the MP3), looked for between
    samples within measure.INTERSAMPLE_HEADROOM_DB of the ceiling."""

    duration: float
    lufs: float
    true_peak: float | None
    input_true_peak: float | None = None


def master(raw: bytes, settings: AudioConfig, dest: Path, verify: bool = True) -> Mastered:
    """Normalise the raw PCM and encode it to dest. The limiter aims PEAK_MARGIN_DB under the
    ceiling: room for MP3 coding noise, which lifts true peaks (by up to 1.09 dB in 332 espeak tracks
    at 64 kbps; other sounds were not measured). With verify, the MP3 is decoded and measured; where
    coding noise lifted a true peak over the ceiling, the track is turned down around those spots
    only, and encoded again. A change to what comes out must bump MASTERING."""
    from audioguide.audio.limit import limit_spots, normalize
    from audioguide.audio.measure import INTERSAMPLE_HEADROOM_DB, decibels, loudness_lufs, pcm, samples, true_peak
    from audioguide.mp3 import codec

    rate = settings.sample_rate
    normalized = normalize(samples(raw), rate, settings.target_lufs, settings.true_peak - PEAK_MARGIN_DB)
    allowed = 10 ** ((settings.true_peak - PEAK_SAFETY_DB) / 20)
    floor = allowed / 10 ** (INTERSAMPLE_HEADROOM_DB / 20)
    if not verify:
        encoded = pcm(normalized)
        dest.write_bytes(codec.encode_mp3(encoded, rate, settings.bitrate, settings.encoder_quality))
        scale = 10 ** (codec.ENCODER_GAIN_DB / 20)  # the MP3's level is LAME's input's, times this
        return Mastered(len(encoded) / 2 / rate, loudness_lufs(normalized, rate) + codec.ENCODER_GAIN_DB, None,
                        decibels(true_peak(normalized, floor / scale) * scale))
    for _ in range(4):
        encoded = pcm(normalized)
        mp3 = codec.encode_mp3(encoded, rate, settings.bitrate, settings.encoder_quality)
        decoded = samples(codec.decode_mp3(mp3)[0])
        peak = true_peak(decoded, 0.0)  # between every two samples: the figure the manifest records
        if peak <= allowed:
            break
        normalized = limit_spots(normalized, decoded, allowed, floor, rate)
    dest.write_bytes(mp3)
    return Mastered(len(encoded) / 2 / rate, loudness_lufs(decoded, rate), decibels(peak))
