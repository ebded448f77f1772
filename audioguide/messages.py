"""The interface's messages: every word a visitor reads that does not come from the guide (the phone
player's buttons and messages, the poster's line, a count of stops), in one catalog of gettext PO
files, `audioguide/locale/`: the template `messages.pot` (msgctxt: the message's key, msgid: its
English) and one `<locale>.po` per language, named by its Babel locale identifier (`fr.po`,
`zh_Hans.po`). English is each msgid itself.

A guide's language is matched to a catalog by `catalog_locale` (`fr-CA` -> fr, `zh-CN` -> zh_Hans,
`pt-BR` -> pt); a guide may give its own messages for a language (`interface/<code>.po` in the guide,
then `[languages.<code>.interface]` in guide.toml, each over the catalog's), and English stands in,
with a warning, for whatever neither has.

Plural messages (`stopCount`) hold a form per plural category in the order of the language's
Plural-Forms (gettext's, from Babel); the phone player picks one by Babel's CLDR rule compiled to
JavaScript (`plural_js`), the poster by the same Plural-Forms expression."""

from __future__ import annotations

import functools
import gettext
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import polib

SOURCE = "en"
TEMPLATE = "messages.pot"
CATALOG_PATH = "audioguide/locale"  # as messages name it
PLACEHOLDER = re.compile(r"\{(\w+)\}")
OPTIONAL = frozenset({"language"})  # a placeholder a translation may leave out where its sentence needs it not
COUNT = "count"  # a plural message's number: its forms may leave it out ("one stop")
ENGLISH_PLURAL = (2, "(n != 1)")

Text = str | tuple[str, ...]  # a message's text; a plural message's forms, in its Plural-Forms order


@dataclass(frozen=True)
class Message:
    key: str
    english: str
    plural: str | None = None  # msgid_plural: English's form for other numbers
    comments: str = ""  # what its placeholders are
    used_by: tuple[str, ...] = ()  # its references in the template: `player`, `poster`

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.english,) if self.plural is None else (self.english, self.plural)

    @property
    def placeholders(self) -> set[str]:
        return {name for form in self.forms for name in PLACEHOLDER.findall(form)}


def _locale() -> Any:
    return resources.files("audioguide").joinpath("locale")


@functools.cache
def template() -> dict[str, Message]:
    """Every message, by key, in the template's order."""
    po = polib.pofile(_locale().joinpath(TEMPLATE).read_text(encoding="utf-8"), wrapwidth=0)
    return {e.msgctxt: Message(e.msgctxt, e.msgid, e.msgid_plural or None, e.comment,
                               tuple(name for name, _ in e.occurrences)) for e in po if e.msgctxt}


def entries(po: polib.POFile) -> Iterable[tuple[polib.POEntry, Text | None]]:
    """Each entry of a PO file with its translation (None: untranslated, fuzzy or obsolete)."""
    for entry in po:
        if entry.obsolete:
            continue
        if entry.fuzzy:
            yield entry, None
        elif entry.msgid_plural:
            forms = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            yield entry, forms if forms and all(forms) else None
        else:
            yield entry, entry.msgstr or None


@functools.cache
def shipped() -> dict[str, dict[str, Text]]:
    """audioguide's own translations, by Babel locale identifier (the .po file's name): key -> text."""
    found: dict[str, dict[str, Text]] = {}
    for item in sorted(_locale().iterdir(), key=lambda p: p.name):
        if item.name.endswith(".po"):
            po = polib.pofile(item.read_text(encoding="utf-8"), wrapwidth=0)
            found[item.name[:-3]] = {e.msgctxt: text for e, text in entries(po) if e.msgctxt and text is not None}
    return found


def _babel(code: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(code.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError):
        return None


def catalog_locale(code: str, available: Iterable[str] | None = None) -> str | None:
    """The catalog a guide's language (a BCP 47 code) shows the interface in, or None. The rule: with
    the script CLDR's likely subtags give a language that names none (zh-CN -> zh_Hans_CN, pt -> pt_Latn),
    the first catalog of language_Script_Territory, language_Territory, language_Script, and language
    alone when the script is the language's usual one (so zh-TW, Traditional Chinese, never gets zh or
    zh_Hans). fr-CA -> fr, zh-Hans-CN, zh-CN and zh -> zh_Hans, pt-BR -> pt (or pt_BR if there is one)."""
    from babel.core import get_global

    names = set(shipped() if available is None else available)
    locale = _babel(code)
    if locale is None:
        primary = code.lower().split("-")[0]
        return primary if primary in names else None
    likely = get_global("likely_subtags")

    def script_of(tag: str) -> str | None:
        parts = str(likely.get(tag, "")).split("_")
        return parts[1] if len(parts) > 2 else None

    language, territory = locale.language, locale.territory
    usual = script_of(language)
    script = locale.script or (script_of(f"{language}_{territory}") if territory else None) or usual
    candidates = [f"{language}_{script}_{territory}" if script and territory else "",
                  f"{language}_{territory}" if territory else "", f"{language}_{script}" if script else "",
                  language if script in (None, usual) else ""]
    return next((c for c in candidates if c and c in names), None)


def rule_locale(code: str) -> str:
    """Whose plural rule a guide language's counted messages follow: the catalog's it shows (whose
    Plural-Forms its translations have), else its own."""
    return catalog_locale(code) or code


def plural_rule(code: str) -> tuple[int, str]:
    """A language's number of plural forms and their gettext expression (Babel's; English's for a
    language Babel does not know)."""
    from babel.messages.plurals import get_plural

    locale = _babel(code)
    if locale is None:
        return ENGLISH_PLURAL
    rule = get_plural(locale)
    return rule.num_plurals, rule.plural_expr


def plural_form(code: str) -> Callable[[int], int]:
    """Which of a language's forms a number takes (its Plural-Forms expression, evaluated by gettext)."""
    return gettext.c2py(plural_rule(code)[1])


@functools.cache
def plural_js(code: str) -> tuple[str, dict[str, int]]:
    """A language's plural rule for the phone player: Babel's CLDR rule compiled to a JavaScript function
    of a number that returns its category (`one`, `few` ...), and each category's form in the
    Plural-Forms order the catalog's translations follow (measured on the numbers 0 to 9999 and a few
    millions, which French, Spanish, Italian and Portuguese count apart)."""
    from babel.plural import to_javascript

    locale = _babel(code)
    if locale is None:
        return "(function(n) { return n == 1 ? 'one' : 'other'; })", {"one": 0, "other": 1}
    count, expression = plural_rule(code)
    form = gettext.c2py(expression)
    forms: dict[str, int] = {}
    for n in [*range(10000), 10**6, 2 * 10**6, 10**9]:
        forms.setdefault(locale.plural_form(n), form(n))
    for tag in (*locale.plural_form.tags, "other"):  # categories whole numbers never take (fractions)
        forms.setdefault(tag, count - 1)
    # Babel's compact-exponent operands (e, c) are not declared in what it writes: they are 0 here
    script = to_javascript(locale.plural_form).replace("n = Math.abs(n);", "n = Math.abs(n); var e = 0, c = 0;", 1)
    return script, dict(sorted(forms.items()))


def problem(key: str, text: Any, forms: int | None = None) -> str | None:
    """What is wrong with `text` as the translation of message `key` (None: nothing): an unknown key
    (with the nearest), a plural message not given as its `forms` forms, or placeholders not English's."""
    from audioguide.schema import did_you_mean

    message = template().get(key)
    if message is None:
        return f"'{key}' is not a message of the interface{did_you_mean(key, template())}"
    if message.plural is not None:
        if not (isinstance(text, list | tuple) and all(isinstance(t, str) for t in text)):
            return (f"{key} is counted: give its {forms or 'plural'} forms as a list of strings, "
                    f"such as {key} = {list(message.forms)!r}")
        if forms is not None and len(text) != forms:
            return f"{key} needs {forms} forms in this language (one per plural category), not {len(text)}"
        texts = list(text)
    elif isinstance(text, str):
        texts = [text]
    else:
        return f"{key} must be a string"
    english = message.placeholders
    for one in texts:
        if not one.strip():
            return f"{key} is empty"
        mine = set(PLACEHOLDER.findall(one))
        if mine - english:
            extra = ", ".join(f"{{{n}}}" for n in sorted(mine - english))
            return f"{key} has {extra}, which English ({message.english!r}) has not"
        left_out = english - mine - OPTIONAL - ({COUNT} if message.plural is not None else set())
        if left_out:
            return f"{key} leaves out {', '.join(f'{{{n}}}' for n in sorted(left_out))}, which English has"
    return None


@dataclass(frozen=True)
class Interface:
    """One guide language's interface: every message's text, and where it comes from."""

    code: str  # the guide's language
    catalog: str | None  # the catalog it matched (a Babel locale identifier), None: none
    texts: dict[str, Text]  # every key of the template
    english: list[str] = field(default_factory=list)  # keys English stands in for
    own: list[str] = field(default_factory=list)  # keys the guide gives itself

    @property
    def rule(self) -> str:
        """Whose plural rule its counted messages follow: its catalog's, else its own language's."""
        return rule_locale(self.code)

    def text(self, key: str, **values: Any) -> str:
        """A message filled in (a plural one by values['count'])."""
        text = self.texts[key]
        if isinstance(text, tuple):
            count = int(values.get(COUNT, 0))
            rule = plural_form(SOURCE if key in self.english else self.rule)
            index = rule(count)
            text = text[index] if index < len(text) else text[-1]
        return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)

    def lang(self, key: str) -> str:
        """The language the message is shown in."""
        return SOURCE if key in self.english else self.code


def interface(code: str, own: Mapping[str, Text] | None = None) -> Interface:
    """Guide language `code`'s interface: the catalog's messages, the guide's own over them, English
    for the rest."""
    locale = catalog_locale(code)
    catalog = shipped().get(locale, {}) if locale else {}
    own = dict(own or {})
    texts: dict[str, Text] = {}
    english: list[str] = []
    english_language = code.lower().split("-")[0] == SOURCE
    for key, message in template().items():
        if key in own:
            texts[key] = tuple(own[key]) if message.plural is not None else own[key]
        elif key in catalog:
            texts[key] = catalog[key]
        else:
            texts[key] = message.forms if message.plural is not None else message.english
            if not english_language:
                english.append(key)
    return Interface(code, locale, texts, english, [k for k in template() if k in own])


def missing_warning(found: Interface) -> str | None:
    """One line for a guide language whose interface English stands in for, in part or whole."""
    if not found.english:
        return None
    from audioguide.errors import listed

    locale = _babel(found.code)
    name = locale.english_name if locale is not None else found.code
    fix = (f"translate them into the guide with `audioguide translate export GUIDE {found.code} -o FILE.po` and "
           "`translate import`, or add them to [languages."
           f"{found.code}.interface] in guide.toml")
    if len(found.english) == len(template()):
        return (f"{found.code}: audioguide's catalog of interface messages has no {name}: English stands in for "
                f"the phone player's buttons and messages and the poster's line ({fix})")
    many = len(found.english) > 1
    return (f"{found.code}: the interface has no {name} for {listed(found.english)}: English stands in for "
            f"{'them' if many else 'it'} ({fix})")


def interface_warnings(own: Mapping[str, Mapping[str, Text] | None]) -> list[str]:
    """A line for each language (code -> the guide's own messages in it) English stands in for."""
    found = (missing_warning(interface(code, messages)) for code, messages in own.items())
    return [line for line in found if line]
