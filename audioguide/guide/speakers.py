"""A guide's speakers: guide.toml's [speakers.<id>] (a label per language, one default at most, each
engine's voice settings for that speaker), [languages.<code>.speakers.<id>.<engine>] over them, and
in a script, the paragraphs each speaker says.

A paragraph that begins with a declared speaker's label and a colon (`CURATOR: Text`), or that is the
label alone (`CURATOR:` or `CURATOR`), starts that speaker's passage; the paragraphs after it are
theirs until another label. Labels are matched whole, without regard to case (fold: `Curator` is
declared, `CURATOR:` is written), and are not spoken. Before the first label, the default speaker
speaks (or the language's own voice, when there is no default)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from audioguide.guide.narration import Paragraph, TextProblem, quoted
from audioguide.schema import Key, Options, Table, allowed, boolean, did_you_mean, nonempty_text

MAX_LABEL_CHARACTERS = 40
SPEAKER_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
VOICE_KEY = Key(nonempty_text, about="the voice this speaker uses, as [languages.<code>] voice names one")


def label_problem(value: Any, example: tuple[str, str] = ("Curator", "Куратор")) -> str | None:
    """Why `value` is not a label (one for every language, or a table per language code), worded with
    an `example` (in English and Russian); [versions.<id>] labels are read the same way."""
    texts = list(value.values()) if isinstance(value, dict) else [value]
    if not texts or not all(isinstance(t, str) and t.strip() == t and t for t in texts):
        return (f"must be a name, such as \"{example[0]}\", or a name per language, such as {{ en = "
                f"\"{example[0]}\", ru = \"{example[1]}\" }}, without spaces around it")
    if any(len(t) > MAX_LABEL_CHARACTERS or ":" in t or any(c < " " for c in t) for t in texts):
        return f"must be at most {MAX_LABEL_CHARACTERS} characters, on one line, without a colon"
    return None


SPEAKER_KEYS: dict[str, Key] = {
    "label": Key(label_problem, required=True, about="the name as written in scripts and shown in transcripts"),
    "default": Key(boolean, False, about="speaks what comes before any label (one speaker at most)"),
}


@dataclass(frozen=True)
class Speaker:
    id: str
    labels: Mapping[str, str]  # language code -> label; "" -> the label of every language not named
    default: bool = False
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # engine -> options (and voice)
    languages: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)  # code -> engine -> ...

    def label(self, code: str) -> str | None:
        return self.labels.get(code, self.labels.get(""))

    def options(self, code: str, engine: str) -> dict[str, Any]:
        """This speaker's settings for one engine in one language (`voice` among them, when given)."""
        return {**self.settings.get(engine, {}), **self.languages.get(code, {}).get(engine, {})}


class Checker(Protocol):
    """What reading the speakers needs of guide.toml's reader (config._Validator)."""

    def problem(self, message: str, table: tuple[str, ...] = (), key: str | None = None) -> None: ...

    def table(self, data: Any, name: tuple[str, ...], keys: Table) -> dict[str, Any]: ...


def _engine_tables(v: Checker, given: Mapping[str, Any], where: tuple[str, ...], engines: Mapping[str, Options],
                   allowed_engines: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """`[<where>.<engine>]` tables: each engine's options and `voice`, checked against that engine's keys."""
    tables: dict[str, dict[str, Any]] = {}
    for name, table in given.items():
        if name not in engines:
            v.problem(f"unknown engine '{name}' in [{'.'.join(where)}]{did_you_mean(name, engines)} "
                      f"(engines: {allowed(engines)})", (*where, name))
        elif allowed_engines is not None and name not in allowed_engines:
            v.problem(f"[{'.'.join((*where, name))}] sets {name}, which [languages.{where[1]}] engines does not "
                      f"list ({allowed(allowed_engines)})", (*where, name))
        else:
            tables[name] = v.table(table, (*where, name), {**engines[name], "voice": VOICE_KEY})
    return tables


def read_speakers(v: Checker, data: Any, engines: Mapping[str, Options], languages: Mapping[str, Sequence[str]],
                  overrides: Mapping[str, Any]) -> dict[str, Speaker]:
    """[speakers.<id>] with their [languages.<code>.speakers.<id>] (`overrides`: code -> that table);
    `languages`: each language's code -> its engines. Problems go to `v`."""
    if not isinstance(data, dict):
        v.problem("'speakers' must hold tables such as [speakers.curator]", (), "speakers")
        data = {}
    speakers: dict[str, Speaker] = {}
    for sid, table in data.items():
        where = ("speakers", sid)
        if not SPEAKER_ID.fullmatch(sid):
            v.problem(f"speaker {quoted(sid)}: name it with letters, digits, - and _ (such as curator)", where)
            continue
        if not isinstance(table, dict):
            v.problem(f"[speakers.{sid}] must be a table, with a label", ("speakers",), sid)
            continue
        subs = {k: t for k, t in table.items() if isinstance(t, dict) and k != "label"}
        values = v.table({k: t for k, t in table.items() if k not in subs}, where, SPEAKER_KEYS)
        settings = _engine_tables(v, subs, where, engines)
        label = values.get("label")
        if label is None:
            continue
        labels = labels_of(v, label, f"speakers.{sid}", where, languages)
        speakers[sid] = Speaker(sid, labels, values.get("default", False), settings)
    _check_all(v, speakers, languages)
    return _with_overrides(v, speakers, engines, languages, overrides)


def _check_all(v: Checker, speakers: Mapping[str, Speaker], languages: Mapping[str, Sequence[str]]) -> None:
    """At most one default; no label said twice in a language (labels are matched without regard to case)."""
    defaults = [s.id for s in speakers.values() if s.default]
    if len(defaults) > 1:
        v.problem(f"speakers {', '.join(defaults)} are each the default: one speaker at most may be "
                  "(default = true)", ("speakers", defaults[1]), "default")
    for code in languages:
        seen: dict[str, str] = {}
        for speaker in speakers.values():
            label = speaker.label(code)
            if label is None:
                continue
            other = seen.setdefault(fold(label), speaker.id)
            if other != speaker.id:
                v.problem(f"speakers {other} and {speaker.id} have the same label {quoted(label)} in {code}: "
                          "each needs its own", ("speakers", speaker.id), "label")


def _with_overrides(v: Checker, speakers: dict[str, Speaker], engines: Mapping[str, Options],
                    languages: Mapping[str, Sequence[str]], overrides: Mapping[str, Any]) -> dict[str, Speaker]:
    """The speakers with their [languages.<code>.speakers.<id>.<engine>] settings."""
    per: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for code, table in overrides.items():
        where = ("languages", code, "speakers")
        if not isinstance(table, dict):
            v.problem(f"[languages.{code}] speakers must hold tables such as "
                      f"[languages.{code}.speakers.curator.espeak]", ("languages", code), "speakers")
            continue
        for sid, given in table.items():
            if sid not in speakers:
                v.problem(f"[languages.{code}.speakers.{sid}]: no speaker '{sid}'{did_you_mean(sid, speakers)} is "
                          f"declared (speakers: {allowed(speakers)})", (*where, sid))
            elif not isinstance(given, dict) or not all(isinstance(t, dict) for t in given.values()):
                v.problem(f"[languages.{code}.speakers.{sid}] holds a table per engine, such as "
                          f"[languages.{code}.speakers.{sid}.espeak]", (*where, sid))
            else:
                found = _engine_tables(v, given, (*where, sid), engines, languages.get(code, ()))
                per.setdefault(sid, {})[code] = found
    return {sid: replace(s, languages=per.get(sid, {})) for sid, s in speakers.items()}


# --- in a script ---------------------------------------------------------------------------------


def fold(label: str) -> str:
    """A label as it is matched: case-folded, with Turkish and Azerbaijani dotted and dotless i as i
    (`ANLATICI` is `Anlatıcı`, `RƏVAYƏTÇİ` is `Rəvayətçi`)."""
    return label.casefold().replace("\u0307", "").replace("ı", "i")


def labels_for(speakers: Mapping[str, Speaker], code: str) -> dict[str, str]:
    """A language's labels, folded (fold), -> their speakers' ids."""
    return {fold(label): s.id for s in speakers.values() if (label := s.label(code)) is not None}


def default_speaker(speakers: Mapping[str, Speaker]) -> str | None:
    return next((s.id for s in speakers.values() if s.default), None)


def _labelled(text: str, labels: Mapping[str, str]) -> tuple[str, str] | None:
    """(speaker id, the text after the label) when `text` begins with a label and a colon, or is a
    label alone; else None."""
    head, colon, rest = text.partition(":")
    name = fold(head.strip())
    if colon and name in labels:
        return labels[name], rest.strip()
    if not colon and fold(text.strip()) in labels:
        return labels[fold(text.strip())], ""
    return None


def assign_speakers(paragraphs: Sequence[Paragraph], labels: Mapping[str, str], default: str | None
                    ) -> list[Paragraph]:
    """The paragraphs with their speakers, the labels taken out; a label alone is no paragraph. Raises
    TextProblem for a label with nothing after it to say."""
    if not labels:
        return list(paragraphs)
    out: list[Paragraph] = []
    current, waiting = default, None  # waiting: the line of a label alone, whose speech is still to come
    for paragraph in paragraphs:
        first = paragraph.parts[0] if paragraph.parts else None
        found = _labelled(first, labels) if isinstance(first, str) else None
        parts = paragraph.parts
        if found is not None:
            current, rest = found
            parts = ((rest,) if rest else ()) + parts[1:]
            if not parts:
                waiting = paragraph.line
                continue
        out.append(replace(paragraph, parts=parts, speaker=current, labelled=found is not None or waiting is not None))
        waiting = None
    if waiting is not None:
        raise TextProblem("a speaker's label with nothing after it to say: write their words after it", waiting)
    return out


def transcript_names(paragraphs: Sequence[Paragraph], speakers: Mapping[str, Speaker], code: str
                     ) -> tuple[str, ...] | None:
    """Who speaks each transcript paragraph (one with words), by their label in language `code`; None
    for a stop where no label is written (one voice: nobody is named)."""
    spoken = [p for p in paragraphs if p.text]
    if not any(p.labelled for p in paragraphs):
        return None
    names = []
    for p in spoken:
        speaker = speakers.get(p.speaker) if p.speaker is not None else None
        names.append((speaker.label(code) or "") if speaker is not None else "")
    return tuple(names)


def labels_of(v: Any, label: Any, table: str, where: tuple[str, ...], languages: Collection[str]) -> dict[str, str]:
    """A table's `label` ([speakers.<id>], [versions.<id>]): one text for every language (key ""), or a
    text per language; a language the guide does not have is a problem at the label's line."""
    labels = dict(label) if isinstance(label, dict) else {"": label}
    for code in labels:
        if code and code not in languages:
            v.problem(f"[{table}] label names '{code}', which is not a language of the guide ({allowed(languages)})",
                      where, "label")
    return labels
