"""Narration scripts -> stops, and the whole guide (guide.toml and every script) read and validated:
phase one of a build. Writes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from audioguide.errors import GuideInvalid, Problem, listed
from audioguide.files import Unreadable, read_limited
from audioguide.guide.config import (
    CONFIG_NAME,
    AudioConfig,
    ConfigInvalid,
    EngineSettings,
    GuideConfig,
    load_config,
)
from audioguide.guide.front_matter import MAX_STOP as MAX_STOP  # re-exported: where it was first
from audioguide.guide.front_matter import MAX_TITLE_CHARACTERS as MAX_TITLE_CHARACTERS  # re-exported
from audioguide.guide.front_matter import FrontMatter, read_front_matter
from audioguide.guide.images import StopImage, check_image
from audioguide.guide.interface import INTERFACE_FOLDER
from audioguide.guide.languages import parse_language
from audioguide.guide.media import Unfit
from audioguide.guide.narration import Paragraph, TextProblem, check_length, parse_narration, quoted, transcript
from audioguide.guide.recordings import Recording, check_recording, unlikely_length
from audioguide.guide.speakers import Speaker, assign_speakers, default_speaker, labels_for, transcript_names
from audioguide.guide.toml import config_line, declared_languages
from audioguide.guide.tours import tour_problems, tour_warnings
from audioguide.guide.versions import Version, version_title
from audioguide.guide.videos import Captions, Video, check_captions, check_video
from audioguide.schema import Options

MEDIA_FOLDER = "media"

# Bounds on what a script may hold (the README's "Writing a guide" says why), so that no file costs
# more than a moment to read. Its front matter's are guide/front_matter.py's; the narration's,
# guide/narration.py MAX_SPOKEN_CHARACTERS and MAX_SILENCE.
MAX_SCRIPT_BYTES = 256 * 1024  # checked before reading; the longest narration in Cyrillic is 40 KB


@dataclass(frozen=True)
class Stop:
    number: int
    title: str
    language: str
    path: Path
    paragraphs: tuple[Paragraph, ...]
    source_version: str | None = None  # a translation: the version of the source stop it was made from
    recording: Recording | None = None  # a human recording that replaces synthesis (front matter `audio:`)
    names: tuple[str, ...] | None = None  # each transcript paragraph's speaker (a label, or ""); None: one voice
    images: tuple[StopImage, ...] = ()  # the first is the stop's main image (front matter `images:`)
    own_images: bool = True  # False: a translation that lists none, showing its source's (without alt text)
    video: Video | None = None  # a sign-language stop's video (front matter `video:`)
    captions: Captions | None = None  # its own captions (`captions:`); None: made from the text
    version: str | None = None  # one of the guide's [versions.<id>] (front matter `version:`); None: the main one
    label: str | None = None  # that version's label in the stop's language

    @property
    def track_title(self) -> str:
        """The track's title: a version's is the stop's with its label, `The night (Audio description)`."""
        return version_title(self.title, self.label)

    @property
    def key(self) -> tuple[int, str]:
        """What names a stop in its language: its number and version ("" for the main one)."""
        return self.number, self.version or ""

    @property
    def transcript(self) -> str:
        return transcript(list(self.paragraphs))

    @property
    def untranslated(self) -> bool:
        """A translation made by `translate add` whose narration is not written yet."""
        return not self.paragraphs

    @property
    def digest(self) -> str:
        """What a translation of this stop was made from: its title and narration, pauses and speakers included."""
        named = self.names is not None  # a stop with speakers' labels: who says what is part of it
        text = self.title + "\n" + "\n\n".join(repr(p.parts) + (f" {p.speaker}" if named and p.speaker else "")
                                                 for p in self.paragraphs)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Guide:
    config: GuideConfig
    stops: Mapping[str, tuple[Stop, ...]]  # language -> stops in stop order (the main versions)
    warnings: tuple[Problem, ...] = field(default=())
    versions: Mapping[str, tuple[Stop, ...]] = field(default_factory=dict)  # language -> other versions, in order

    def versions_of(self, code: str, number: int) -> tuple[Stop, ...]:
        """Stop `number`'s other versions in language `code`, in the order of their ids."""
        return tuple(s for s in self.versions.get(code, ()) if s.number == number)

    @property
    def name(self) -> str:
        return self.config.root.resolve().name


class ScriptsInvalid(GuideInvalid):
    """load_guide's problems, with what choosing the engines needs of guide.toml (all of it when it
    was valid) when that could be read, so that that check can still run and report in the same go."""

    def __init__(self, problems: list[Problem], settings: GuideConfig | EngineSettings | None) -> None:
        super().__init__(problems)
        self.settings = settings


def _read_script(path: Path) -> str:
    """The file's text, through files.read_limited: a regular file (a FIFO is refused unread) whose
    real path is inside the guide folder, refused unread when it is larger than MAX_SCRIPT_BYTES; UTF-8,
    a byte order mark dropped, Windows line ends read as newlines."""
    try:
        raw = read_limited(path, MAX_SCRIPT_BYTES, inside=path.parent.parent.resolve(), what="the script")
    except Unreadable as e:
        if e.reason.endswith(" it may be"):  # too large: the fix is to split the stop
            raise GuideInvalid([Problem(path, e.reason.replace(" it may be", " a stop may have: split it into "
                                                                               "several stops"), 1)]) from None
        raise GuideInvalid([Problem(path, e.reason)]) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise GuideInvalid(
            [Problem(path, f"not valid UTF-8 (byte 0x{raw[e.start]:02x}): save the file as UTF-8", line)]
        ) from None
    return text.replace("\r\n", "\n")


def read_stop(path: Path, language: str, paragraph_pause: float = AudioConfig.paragraph_pause,
              lexicon: Mapping[str, str] | None = None, speakers: Mapping[str, Speaker] | None = None,
              kind: str = "spoken", versions: Mapping[str, Version] | None = None) -> Stop:
    """One stop script. Raises GuideInvalid naming the file and line of every problem found.
    `paragraph_pause` (the guide's) counts towards the stop's silence (narration.MAX_SILENCE), and the
    narration with the language's `lexicon` applied towards its length (narration.MAX_SPOKEN_CHARACTERS).
    The guide's `speakers`' labels say who speaks each paragraph (guide/speakers.py). A stop of a sign
    language (`kind` "sign") is a video, with captions (guide/videos.py); a script of a version names
    one of the guide's `versions` (None: not known, not checked)."""
    front, body, body_line = read_front_matter(_read_script(path), path)
    problems = list(front.problems)
    recording = _recording(path, front, problems)
    speakers = speakers or {}
    images = _images(path, front, problems)
    video, captions = _video(path, front, kind, problems)
    paragraphs = _narration(path, front, body, body_line, (paragraph_pause, lexicon),
                            (labels_for(speakers, language), default_speaker(speakers)), problems)
    version = versions.get(front.version) if versions is not None and front.version is not None else None
    if versions is not None and front.version is not None and version is None:
        problems.append(Problem(path, f"version: {front.version} is not declared in guide.toml: add [versions."
                                      f"{front.version}] with its label and kind (versions: {listed(list(versions))})"
                                if versions else f"version: {front.version} is not declared in guide.toml: add "
                                f"[versions.{front.version}] with its label and kind", front.version_line))
    if problems:
        raise GuideInvalid(problems)
    return Stop(front.number, front.title, language, path, tuple(paragraphs), front.source_version, recording,
                transcript_names(paragraphs, speakers, language), images, front.images is not None, video, captions,
                front.version, version.label(language) if version is not None else None)


def _video(path: Path, front: FrontMatter, kind: str, problems: list[Problem]) -> tuple[Video | None, Captions | None]:
    """A sign-language stop's video and captions (`video:`, `captions:`), checked; a problem when a
    sign-language stop has no video, or a spoken language's stop names one."""
    sign = kind == "sign"
    if not sign:
        for key, given in (("video", front.video), ("captions", front.captions)):
            if given is not None:
                problems.append(Problem(path, f"{key}: is for a sign language's stops ([languages.{path.parent.name}] "
                                              'kind = "sign"): a spoken stop is its narration', given[1]))
        return None, None
    if front.audio is not None:
        problems.append(Problem(path, "audio: is for a spoken language: a sign-language stop is a video (video:)",
                                front.audio_line))
    if front.video is None:
        problems.append(Problem(path, "a sign-language stop needs its video: video: media/"
                                      f"{path.parent.name}/{front.number or 1:02d}.mp4", 2))
        return None, None
    video = check_video(path.parent.parent, front.video[0])
    if isinstance(video, str):
        problems.append(Problem(path, video, front.video[1]))
        return None, None
    if front.captions is None:
        return video, None
    captions = check_captions(path.parent.parent, front.captions[0], video.seconds)
    if isinstance(captions, str):
        problems.append(Problem(path, captions, front.captions[1]))
        return video, None
    return video, captions


def _images(path: Path, front: FrontMatter, problems: list[Problem]) -> tuple[StopImage, ...]:
    """The images the front matter lists (`images:`), each checked; the problem of each that is not fit."""
    found = []
    for entry in front.images or ():
        try:
            found.append(check_image(path.parent.parent, entry))
        except Unfit as e:
            problems.append(Problem(path, str(e), entry.line))
    return tuple(found)


def _recording(path: Path, front: FrontMatter, problems: list[Problem]) -> Recording | None:
    """The recording the front matter names (`audio:`), checked; None, and its problem, when it is not fit."""
    if front.audio is None:
        return None
    found = check_recording(path.parent.parent, front.audio)
    if isinstance(found, str):
        problems.append(Problem(path, found, front.audio_line))
        return None
    return found


def _narration(path: Path, front: FrontMatter, body: str, body_line: int,
               limits: tuple[float, Mapping[str, str] | None], speakers: tuple[Mapping[str, str], str | None],
               problems: list[Problem]) -> list[Paragraph]:
    """The narration after the front matter (`body`, from line `body_line`), as paragraphs, checked
    (`limits`: the paragraph pause and the lexicon), with their speakers (`speakers`: the labels and
    the default speaker)."""
    paragraph_pause, lexicon = limits
    try:
        paragraphs = assign_speakers(parse_narration(body), *speakers)
        check_length(paragraphs, paragraph_pause, lexicon)
    except TextProblem as e:
        problems.append(Problem(path, str(e), body_line + e.line - 1))
        return []
    if not any(p.text for p in paragraphs) and "source" not in front.given:
        unspoken = " (HTML comments are not spoken)" if "<!--" in body else ""
        recorded = " (with a recording, its text: the transcript visitors read)" if "audio" in front.given else ""
        problems.append(Problem(path, f"no narration: write the text to speak after the front matter{recorded}"
                                      f"{unspoken}", body_line))
    return paragraphs


def _stop_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The scripts in a language folder: every `*.md` in it that is not a folder (a FIFO or a link
    out of the guide among them is refused when it is read, never passed over); and a warning for
    each other entry, which is not read. Names starting with `.` or `_` are passed over without a
    word: hidden files (.DS_Store, an editor's swap file) and what a writer set aside on purpose."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as e:
        raise GuideInvalid([Problem(folder, f"cannot read the folder: {e.strerror or e}")]) from None
    scripts: list[Path] = []
    unread: list[Problem] = []
    for entry in entries:
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            unread.append(Problem(entry, f"a folder, not read: scripts are the .md files directly in {folder.name}/"))
        elif entry.suffix == ".md":
            scripts.append(entry)
        else:
            name = (entry.stem if entry.suffix else entry.name) + ".md"
            unread.append(Problem(entry, f"not read: a script's name ends in .md (lower case); rename it {name} if "
                                         "it is one"))
    return scripts, unread


def load_guide(root: Path, engine_options: Mapping[str, Options],
               output_options: Mapping[str, Options] | None = None) -> Guide:
    """Read and validate the whole guide: guide.toml (with the options of these engines and outputs)
    and every script. Raises GuideInvalid listing every problem in every file, so that one run shows
    them all."""
    problems: list[Problem] = []
    declared: Mapping[str, int | None] | None  # guide.toml's language tables and their lines, as far as known
    try:
        config = load_config(root, engine_options, output_options)
        declared = dict.fromkeys(config.languages)
        settings: EngineSettings | None = None
        source = config.languages.get(config.source_language)
        if source is not None and source.kind == "sign":
            problems.append(Problem(config.path, f"source_language '{source.code}' is a sign language: the source is "
                                                 "a written language, whose text a sign language's captions are made "
                                                 "from", config_line(config, ("guide",), "source_language")))
    except GuideInvalid as e:
        problems.extend(e.problems)
        config = None
        declared = declared_languages(root)
        settings = e.settings if isinstance(e, ConfigInvalid) else None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in (MEDIA_FOLDER, INTERFACE_FOLDER)
                     and not p.name.startswith((".", "_"))) if root.is_dir() else []
    stops: dict[str, tuple[Stop, ...]] = {}
    versions: dict[str, tuple[Stop, ...]] = {}
    warnings: list[Problem] = []  # files in language folders that are not read
    for folder in folders:
        code = folder.name
        if parse_language(code) is None:
            problems.append(Problem(folder, f"{quoted(code)} is not a known language code: name language "
                                            "folders with ISO 639-1 codes such as en, az, ru"))
            continue
        if declared is not None and code not in declared:
            problems.append(Problem(folder, f"language folder {quoted(code)} has no [languages.{code}] in guide.toml"))
        try:
            scripts, skipped = _stop_files(folder)
        except GuideInvalid as e:
            problems.extend(e.problems)
            continue
        warnings.extend(skipped)
        stops[code], versions[code] = _language_stops(scripts, code, config, problems)
    if config is not None:
        declared = {code: config_line(config, ("languages", code)) for code in config.languages}
    for code, line in (declared or {}).items():
        folder = root / code
        if parse_language(code) is not None and not stops.get(code) and not any(
                p.path is not None and folder in (p.path, *p.path.parents) for p in problems):
            unread = [w.path.name for w in warnings if w.path is not None and w.path.parent == folder]
            names = f" ({listed(unread)} not read: a script's name ends in .md)" if unread else ""
            problems.append(Problem(root / CONFIG_NAME, f"language '{code}' has no stop scripts: add {code}/*.md"
                                                        f"{names}", line))
    if config is not None and config.tours and not problems:
        problems += tour_problems(config.tours, stops.get(config.source_language, ()), _tour_line(config))
    if problems:
        raise ScriptsInvalid(problems, config or settings)
    assert config is not None
    stops = _source_images(config.source_language, stops)
    return Guide(config, stops, (*warnings, *_coverage_warnings(config, stops), *tour_warnings(
        config.tours, stops, config.source_language, {c: lang.missing for c, lang in config.languages.items()},
        _tour_line(config))), versions)



def _tour_line(config: GuideConfig) -> Callable[[str], tuple[Path, int | None]]:
    """Where a tour's stops are in guide.toml, for its messages."""
    return lambda tid: (config.path, config_line(config, ("tours", tid), "stops"))


def _source_images(source: str, stops: dict[str, tuple[Stop, ...]]) -> dict[str, tuple[Stop, ...]]:
    """Each translation that lists no images of its own shows its source stop's, without alt text
    (the source's is in another language): `translate status` and `check` say so."""
    images = {s.number: s.images for s in stops.get(source, ())}
    return {code: tuple(s if s.own_images or not images.get(s.number) else
                        replace(s, images=tuple(replace(i, alt=None) for i in images[s.number]))
                        for s in language) if code != source else language
            for code, language in stops.items()}


def _language_stops(scripts: list[Path], code: str, config: GuideConfig | None,
                    problems: list[Problem]) -> tuple[tuple[Stop, ...], tuple[Stop, ...]]:
    """A language folder's scripts, read: its main stops in stop order, and its other versions in
    stop and version order; the problems of each added to `problems`."""
    pause = (config.audio if config is not None else AudioConfig()).paragraph_pause
    lexicon = config.languages[code].lexicon if config is not None and code in config.languages else {}
    found: dict[tuple[int, str], Stop] = {}
    for path in scripts:
        try:
            stop = read_stop(path, code, pause, lexicon, config.speakers if config is not None else None,
                             config.languages[code].kind if config is not None and code in config.languages
                             else "spoken", config.versions if config is not None else None)
        except GuideInvalid as e:
            problems.extend(e.problems)
            continue
        if stop.key in found:
            what = f"stop {stop.number}" + (f" version {stop.version}" if stop.version else "")
            problems.append(Problem(path, f"{what} is already used by {found[stop.key].path.name}", 2))
            continue
        if stop.untranslated and config is not None and code == config.source_language:
            problems.append(Problem(path, f"no narration: {code} is the source language, whose stops are never "
                                          "left out as untranslated: write the narration after the front matter"))
        found[stop.key] = stop
    for (number, version), stop in found.items():
        if version and (number, "") not in found:
            problems.append(Problem(stop.path, f"version {version} of stop {number} has no main stop {number} in "
                                               f"{code}: write the main script first (without version:)", 2))
    versions = tuple(s if s.own_images or (s.number, "") not in found else replace(s, images=found[s.number, ""].images)
                     for k, s in sorted(found.items()) if k[1])  # a version that lists no images shows its stop's
    return tuple(found[k] for k in sorted(found) if not k[1]), versions


def _coverage_warnings(config: GuideConfig, stops: Mapping[str, tuple[Stop, ...]]) -> list[Problem]:
    source = {s.number: s for s in stops.get(config.source_language, ())}
    warnings: list[Problem] = []
    for language_stops in stops.values():
        for s in language_stops:
            unlikely = unlikely_length(s.recording, len(s.transcript)) if s.recording is not None else None
            if unlikely:
                warnings.append(Problem(s.path, unlikely))
    for code, language_stops in stops.items():
        if code == config.source_language:
            continue
        for s in language_stops:
            if s.number not in source:
                warnings.append(Problem(s.path, f"stop {s.number} is not in the source language "
                                                f"'{config.source_language}'", 2))
    return warnings
