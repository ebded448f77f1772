"""`audioguide init`: a new guide that builds as it is."""

from __future__ import annotations

import datetime
import json
import uuid
from pathlib import Path

from audioguide.errors import AudioguideError
from audioguide.files import write_text
from audioguide.guide.config import CONFIG_NAME
from audioguide.guide.languages import Language, parse_language
from audioguide.ownership import locked, place_problem, real_folders

GUIDE_TOML = """\
# audioguide guide: every key is described in the README.

[guide]
title = {title}
publisher = {title}
source_language = "{lang}"
published = {published}          # when the guide is first published (the podcast edition's dates)
id = "{id}"   # the guide's identity for life: keep it when the guide moves
# cover = "media/cover.png"       # PNG or JPEG, embedded in every track
# copyright = "2026 {plain}"
# description = "..."             # the guide in a sentence or two, in the source language
# contact_email = "podcasts@museum.example"   # who answers for it (a podcast's owner)
# contact_name = {title}

# One table per language; its folder {lang}/ holds one Markdown script per stop.
[languages.{lang}]
title = {album}{album_note}
# Engines to try in order: the first that can run here and speaks the language wins.
# "gtts" (online) falls back to the next one when Google cannot be reached.
engines = ["espeak"]
# voice = {{ espeak = "{lang}" }}

# [lexicon.{lang}]                     # respellings the engine pronounces better (not in transcripts)
# Khojaly = "Khojalee"

# [audio]
# target_lufs = -18.0             # integrated loudness of every track
# true_peak = -1.0                # dBTP ceiling
# sample_rate = 22050
# bitrate = 64                    # kbps, mono CBR
# encoder_quality = 7             # LAME -q, 2 (slowest) to 7 (fastest); 3 under 48 kbps
# lead_in = 0.5                   # seconds of silence before the narration
# paragraph_pause = 0.8           # seconds between paragraphs
# tail = 1.0                      # seconds of silence at the end
# intro = "media/intro.mp3"       # a sound before every track
# outro = "media/outro.mp3"
# verify = false                  # true: decode and check every MP3 (others than espeak's always are)

# [tags]
# id3_version = 3                 # 3 (hardware players, Windows) or 4

# [engines.espeak]
# rate = 160                      # words per minute
# [engines.gtts]
# timeout = 15.0
# retries = 3
# backoff = 1.0
# max_wait = 60.0                # the longest Retry-After obeyed; longer: the next engine
# tld = "com"
"""

EXAMPLE_STOP = """\
---
stop: 1
title: Welcome
---
Welcome to {plain}. This is the first stop of the audio guide.

Type the number on a wall label into your keypad to hear that stop.
<!-- Notes for translators go in HTML comments: they are never spoken. -->

[pause 1s]

Enjoy your visit.
"""


# For a language other than English, the example stop has no narration: the English example is in
# a comment (never spoken), so that no voice reads English as if it were its language, and check and
# build say that the narration is missing until it is written.
EXAMPLE_STOP_TO_WRITE = """\
---
stop: 1
title: Welcome                 # write the title in {name}
---
<!-- Write this stop's narration in {name} here, in place of this comment: comments are never
spoken, and the guide builds once the narration is written. An example, in English:

{example}
-->
"""


def scaffold(directory: Path, title: str, language: str) -> tuple[list[Path], str]:
    """Write the new guide; returns the files written and what the user is to do next."""
    spoken = parse_language(language)
    if spoken is None:
        raise AudioguideError(f"'{language}' is not a known language code (such as en, az, ru)")
    config = directory / CONFIG_NAME
    if config.exists() or config.is_symlink():
        raise AudioguideError("a guide is already here; not overwriting it", config)
    why = place_problem(directory)
    if why is not None:
        raise AudioguideError(f"will not make a guide here: it {why}; give a folder of its own", directory)
    with locked(directory):
        return _write(directory, config, title, language, spoken)


def _write(directory: Path, config: Path, title: str, language: str, spoken: Language) -> tuple[list[Path], str]:
    real_folders(directory, [language, "media"])  # nothing written through a link out of the guide
    stop = directory / language / "01-welcome.md"
    english = spoken.base == "en"
    album = f"{title}: Audio Guide" if english else title
    write_text(config, GUIDE_TOML.format(published=datetime.date.today().isoformat(), id=uuid.uuid4(),
                                         title=json.dumps(title, ensure_ascii=False),
                                         album=json.dumps(album, ensure_ascii=False),
                                         album_note="" if english else f"  # the guide's title in {spoken.name}",
                                         plain=title, lang=language))
    (directory / "media").mkdir(exist_ok=True)
    if stop.exists() or stop.is_symlink():
        return [config], "edit it"
    example = EXAMPLE_STOP.format(plain=title)
    if english:
        write_text(stop, example)
        return [config, stop], "edit it"
    body = example.split("---\n", 2)[2]
    body = "\n".join(line for line in body.splitlines() if not line.startswith("<!--")).strip()
    write_text(stop, EXAMPLE_STOP_TO_WRITE.format(name=spoken.name, example=body.replace("--", "- -")))
    return [config, stop], f"write the narration of {stop} in {spoken.name} (its English example is a comment)"
