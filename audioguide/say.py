"""`audioguide say`: one stop, or a line of text, rendered with the guide's voice, lexicon and audio
settings into a WAV or MP3 file, to hear a pronunciation quickly (and compare it without the
lexicon). Nothing of the guide's output or cache is touched."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from audioguide.audio.timeline import Timeline, narration
from audioguide.errors import AudioguideError
from audioguide.files import replacing
from audioguide.guide.config import AudioConfig
from audioguide.guide.narration import TextProblem, check_length, parse_narration
from audioguide.guide.speakers import assign_speakers, default_speaker, labels_for
from audioguide.plan import Plan, Voice
from audioguide.plan import check as check_guide

# Each quiet but for its errors, whose last line says why it could not play (mpv writes them on stdout).
PLAYERS = (("mpv", "--no-video", "--msg-level=all=error"), ("ffplay", "-nodisp", "-autoexit", "-loglevel", "error"),
           ("paplay",), ("aplay", "-q"), ("afplay",))
PLAY_SECONDS = 600.0  # no audition plays longer
PLAYER_TAIL = 4096  # bytes of the player's output read for its last line


@dataclass(frozen=True)
class Said:
    path: Path
    seconds: float
    voice: str  # "espeak (az)", or the recording's name


def say(root: Path, language: str | None, dest: Path, stop: int | None = None, text: str | None = None,
        lexicon: bool = True) -> Said:
    """Render stop `stop` (or `text`) in `language` (default: the source language) to dest (.wav or
    .mp3), at the guide's loudness. Raises AudioguideError for a stop or language the guide lacks."""
    if dest.suffix.lower() not in (".wav", ".mp3"):
        raise AudioguideError("the file must end in .wav or .mp3", dest)
    plan = check_guide(root)
    config = plan.guide.config
    code = language or config.source_language
    if code not in config.languages:
        raise AudioguideError(f"--lang {code}: the guide has no language '{code}' (it has "
                              f"{', '.join(config.languages)})")
    timeline, voices = _what(plan, code, stop, text, lexicon)
    from audioguide.audio.assemble import assemble
    from audioguide.render import EngineFailed, speak_first
    from audioguide.workers import Worker

    try:  # in this process, without a speaker: an audition is one stop
        at, pcm = speak_first(voices, lambda voice: assemble(timeline, voice.speak, config.audio).pcm, Worker(), code)
    except EngineFailed as e:
        raise AudioguideError(f"{e.engine}: {e.reason}") from None
    seconds = _write(pcm, config.audio, dest)
    return Said(dest, seconds, voices[at].label)


def _what(plan: Plan, code: str, stop: int | None, text: str | None, lexicon: bool) -> tuple[Timeline, list[Voice]]:
    """The timeline to render (without intro and outro: an audition is of the voice) and who speaks it
    (each of the guide's speakers in their own voice, as a build has them)."""
    config = plan.guide.config
    if config.languages[code].kind == "sign":
        raise AudioguideError(f"{code} is a sign language: its stops are videos, and nothing is spoken")
    words = config.languages[code].lexicon if lexicon else {}
    if text is not None:
        try:
            speakers = config.speakers  # `--text "CURATOR: ..."` is said in the curator's voice, as in a script
            paragraphs = assign_speakers(parse_narration(text), labels_for(speakers, code), default_speaker(speakers))
            check_length(paragraphs, config.audio.paragraph_pause, words)
        except TextProblem as e:
            raise AudioguideError(f"--text: {e}") from None
        if not any(p.text for p in paragraphs):
            raise AudioguideError("--text: nothing to say")
        return Timeline(tuple(narration(paragraphs, config.audio.paragraph_pause, words))), plan.voices[code]
    track = next((t for t in plan.tracks[code] if t.stop.number == stop), None)
    if track is None:
        raise AudioguideError(f"--stop {stop}: {code} has no stop {stop}")
    if track.stop.recording is not None or lexicon:
        plain = plan.timeline(track)
        return Timeline(plain.narration), plan.speakers(track)
    spoken = narration(track.stop.paragraphs, config.audio.paragraph_pause, {})
    return Timeline(tuple(spoken)), plan.speakers(track)


def _write(pcm: bytes, settings: AudioConfig, dest: Path) -> float:
    """Normalise and write: an MP3 as a build masters it, a WAV of the limited signal. The seconds."""
    from audioguide.audio.limit import normalize
    from audioguide.audio.master import PEAK_MARGIN_DB, master
    from audioguide.audio.measure import pcm as to_pcm
    from audioguide.audio.measure import samples
    from audioguide.mp3.codec import ENCODER_GAIN_DB

    dest.parent.mkdir(parents=True, exist_ok=True)
    with replacing(dest) as tmp:
        if dest.suffix.lower() == ".mp3":
            return master(pcm, settings, tmp, verify=True).duration
        rate = settings.sample_rate
        # normalize aims at what LAME's 0.95 will make of it; a WAV has no LAME: aim at the target itself
        limited = to_pcm(normalize(samples(pcm), rate, settings.target_lufs + ENCODER_GAIN_DB,
                                   settings.true_peak - PEAK_MARGIN_DB + ENCODER_GAIN_DB))
        with wave.open(str(tmp), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(rate)
            f.writeframes(limited)
        return len(limited) / 2 / rate


def player() -> list[str] | None:
    """A program on PATH that plays a sound file, with its arguments, or None."""
    for name, *args in PLAYERS:
        found = shutil.which(name)
        if found:
            return [found, *args]
    return None


def play(command: list[str], path: Path) -> str | None:
    """Play path with `command` (from player()), for at most PLAY_SECONDS: None when the player
    succeeded, else why not, in a line ("mpv could not play it: Could not open/initialize audio
    device"). Its output (stdout and stderr: players print errors on either) goes to a temporary
    file, of which only the end is read."""
    import tempfile

    with tempfile.TemporaryFile() as output:
        try:
            done = subprocess.run([*command, str(path)], stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=subprocess.STDOUT, timeout=PLAY_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AudioguideError(f"cannot play {path}: {e}") from None
        if done.returncode == 0:
            return None
        output.seek(max(0, output.tell() - PLAYER_TAIL))
        lines = [line.strip() for line in output.read().decode("utf-8", "replace").splitlines()]
    last = next((line for line in reversed(lines) if line), f"exit code {done.returncode}")
    return f"{Path(command[0]).name} could not play it: {last.rstrip(' .')[:200]}"
