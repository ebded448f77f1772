"""Human recordings: a stop's front matter may name a sound file (`audio: media/az/03.flac`) that
replaces synthesis for that stop in that language. Here it is checked while the guide is read: inside
the guide folder, a file of a kind audioguide decodes, of a sensible size and length. Its header is
read (mutagen), not its audio: reading a guide stays quick however many recordings it has; the
build decodes it (ffmpeg) when it makes the track, no further than the limit whatever the header
said, and refuses it there when it is longer, too short to be speech or silent (decoded_problem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audioguide.guide.media import inside_guide
from audioguide.guide.narration import SPOKEN_PER_MINUTE, quoted

SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus")
MAX_RECORDING_BYTES = 1 << 30  # an hour of 48 kHz 24-bit stereo WAV is 1 GB
MAX_RECORDING_SECONDS = 3600.0
# A recording must be able to hold speech: a sample rate of at least a telephone's, half a second
# (a word) or more, and a sample louder than SILENT_DBFS (a quiet recording peaks 30 dB above it).
MIN_SAMPLE_RATE = 8000
MIN_RECORDING_SECONDS = 0.5
SILENT_DBFS = -60.0
# A recording this many times longer or shorter than its script would take to say is probably the
# wrong file: people read at about the pace espeak speaks (SPOKEN_PER_MINUTE characters a minute),
# a little faster or much slower, and pause more.
LIKELY_RATIO = 2.5


@dataclass(frozen=True)
class Recording:
    path: Path  # resolved, inside the guide folder
    name: str  # as the script names it: "media/az/03.flac"
    seconds: float  # as its header says (the build decodes it, and refuses it when it lasts longer)


def check_recording(root: Path, value: str) -> Recording | str:
    """The recording a script names (relative to the guide folder `root`), or the problem with it."""
    path = inside_guide(root, value)
    if path is None:
        return (f"audio names {quoted(value)}, which is not inside the guide folder: copy the recording into the "
                f"guide's media/ folder and write audio: {'media/' + Path(value).name}")
    if not path.is_file():
        return f"audio names {quoted(value)}, which is not a file in {root.resolve().name}/"
    if path.suffix.lower() not in SUFFIXES:
        return (f"audio names {quoted(value)}: a recording must be WAV, FLAC, MP3, M4A/AAC or Ogg (Vorbis or Opus) "
                f"({', '.join(SUFFIXES)})")
    size = path.stat().st_size
    if size > MAX_RECORDING_BYTES:
        return f"audio names {quoted(value)}, which is {size / 2**30:.1f} GiB: at most 1 GiB, make it smaller"
    header = _header(path)
    if header is None:
        return f"audio names {quoted(value)}, which is not a sound file audioguide can read: save it again as " \
               "WAV, FLAC or MP3"
    seconds, rate = header
    if seconds <= 0:
        return f"audio names {quoted(value)}, which holds no sound"
    if rate is not None and rate < MIN_SAMPLE_RATE:
        return (f"audio names {quoted(value)}, which is sampled at {rate} Hz: a recording of speech needs at least "
                f"{MIN_SAMPLE_RATE} Hz, export it again at 44100 Hz")
    if seconds < MIN_RECORDING_SECONDS:
        return (f"audio names {quoted(value)}, which lasts {seconds:.2f} s: too short to be speech, export the "
                "whole recording again")
    if seconds > MAX_RECORDING_SECONDS:
        return f"audio names {quoted(value)}, which lasts {seconds / 60:.0f} minutes: at most an hour, split the stop"
    return Recording(path, value, seconds)


def _header(path: Path) -> tuple[float, int | None] | None:
    """How long the file's header says it lasts, and its sample rate (None where the format has none
    to say: Opus always decodes at 48 kHz); None when it is not a sound file mutagen reads."""
    import mutagen

    try:
        audio = mutagen.File(path)
    except Exception:  # noqa: BLE001  mutagen raises many kinds on a damaged file; it is not a sound file then
        return None
    info = getattr(audio, "info", None)
    length, rate = getattr(info, "length", None), getattr(info, "sample_rate", None)
    if not isinstance(length, int | float):
        return None
    return float(length), rate if isinstance(rate, int) else None


def decoded_problem(pcm: bytes, sample_rate: int) -> str | None:
    """What is wrong with a recording's decoded audio (mono s16le at sample_rate, decoded up to
    MAX_RECORDING_SECONDS and a second more), whatever its header said: None when it can be a stop."""
    import numpy as np

    seconds = len(pcm) / 2 / sample_rate
    if seconds > MAX_RECORDING_SECONDS:
        minutes = f"{MAX_RECORDING_SECONDS / 60:g} minutes"
        return f"lasts more than {minutes} (whatever its header says): a stop may last {minutes} at most, split it"
    if seconds < MIN_RECORDING_SECONDS:
        return f"holds {seconds:.2f} s of sound: too short to be speech, export the whole recording again"
    samples = np.frombuffer(pcm, dtype="<i2")
    peak = max(-int(samples.min()), int(samples.max()))
    if peak < 32768 * 10 ** (SILENT_DBFS / 20):
        return f"is silent (no sample above {SILENT_DBFS:g} dBFS): export the recording again"
    return None


def unlikely_length(recording: Recording, characters: int) -> str | None:
    """A warning when the recording is far longer or shorter than its script takes to say."""
    expected = characters / SPOKEN_PER_MINUTE * 60
    if recording.seconds > expected * LIKELY_RATIO + 10 or recording.seconds * LIKELY_RATIO < expected - 10:
        return (f"{recording.name} lasts {recording.seconds:.0f} s, where its script takes about {expected:.0f} s "
                "to say: is it the right recording?")
    return None
