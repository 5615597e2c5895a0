"""Every Indonesian text in the code and templates has its English translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


def test_english_catalog_is_complete(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
         "-o", str(pot), "--no-location", "--sort-output", "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with open(ROOT / "kiosk/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    have = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string)) and not m.fuzzy
    }
    missing = sorted(wanted - have)
    assert not missing, "untranslated (run `make extract-messages` and translate): " + "; ".join(missing)
