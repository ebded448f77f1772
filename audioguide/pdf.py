"""Printing an HTML page to PDF with a headless Chromium, for `audioguide labels`. The PDF is written
without its dates, so that a rerun that changes nothing rewrites nothing."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from audioguide.files import die_with_parent, replacing, temp_folder

log = logging.getLogger("audioguide")

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PDF_SECONDS = 60.0


def find_chromium() -> str | None:
    for name in CHROMIUMS:
        found = shutil.which(name)
        if found:
            return found
    return None


_PDF_DATES = re.compile(rb"/(?:CreationDate|ModDate) \(D:[0-9+\-Z']*\)")


def _undated(pdf: bytes) -> bytes:
    """The PDF without its creation and modification dates: each is blanked with as many spaces
    (whitespace between a dictionary's entries), so that every byte offset in the file still holds."""
    return _PDF_DATES.sub(lambda m: b" " * len(m.group(0)), pdf)


class _NoPdf(Exception):
    """Chromium made no PDF (the message says why); the temp file goes, the last PDF stays."""


class _Unchanged(Exception):
    """The PDF is exactly as the last run made it: left alone."""


def print_pdf(chromium: str, page: Path, pdf: Path) -> str | None:
    """Print page (an HTML file) to pdf with a headless Chromium; None, or why it did not. Chromium
    writes a temp file beside pdf (a snap-packaged Chromium may write only in the user's folders),
    which replaces pdf once it is a whole PDF without dates."""
    name = os.path.basename(chromium)
    try:
        with temp_folder() as profile, replacing(pdf) as tmp:
            command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                       "--disable-component-update", "--disable-extensions", "--no-first-run",
                       "--no-default-browser-check", "--no-pdf-header-footer", f"--user-data-dir={profile}",
                       f"--print-to-pdf={tmp.absolute()}", page.absolute().as_uri()]
            log.debug("%s", " ".join(command))
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, start_new_session=True, preexec_fn=die_with_parent)
            try:
                _, errors = process.communicate(timeout=PDF_SECONDS)
            except subprocess.TimeoutExpired:
                raise _NoPdf(f"{name} did not finish within {PDF_SECONDS:.0f} s") from None
            finally:
                try:  # its helper processes too: they are in the session it leads
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                process.wait()
            data = tmp.read_bytes()
            if process.returncode != 0 or not data.startswith(b"%PDF-"):
                text = errors.decode("utf-8", "replace")
                log.debug("%s", text)
                raise _NoPdf(f"{name} failed (exit code {process.returncode})")
            undated = _undated(data)
            try:
                if pdf.read_bytes() == undated:
                    raise _Unchanged
            except OSError:
                pass
            tmp.write_bytes(undated)
    except _NoPdf as e:
        return str(e)
    except _Unchanged:
        pass
    return None
