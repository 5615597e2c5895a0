"""Characters typed text must not carry, in one place: what comes in is cleaned of them, what
goes out drops any that were stored before.

- **Control characters** (C0 but tab, line feed and carriage return; DEL; C1) and the
  noncharacters U+FFFE and U+FFFF. Nobody means one: they arrive by pasting (Word's line break
  is U+000B) or in a CSV. XML 1.0 cannot hold most of them, so one in a stored name made every
  XLSX export that includes the name a server error, for good where the name sits in the audit
  log. Where text comes in each becomes a space (it usually stood between two words).
- **Format characters** (Unicode category Cf: zero-width space and joiners, the byte order mark,
  soft hyphen, the bidirectional overrides). Invisible: a name of only these was accepted and
  printed blank on the card, the lists and the BAST, and an override turns the text after it
  around. Where text comes in they are removed.

NUL is not here: a request carrying one is refused whole (``web.UnstorableText``), as PostgreSQL
cannot store it. ``typed`` cleans a form field or an imported cell; ``writable`` is for text on
its way into a document (``spreadsheets``, the PDFs)."""

from __future__ import annotations

import re

# C0 but NUL, tab, LF and CR; DEL and C1; the two noncharacters of the BMP's last block.
CONTROL = "\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff"
# Unicode's category Cf (tests/unit/test_characters.py checks it against ``unicodedata``).
FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)

_CONTROL = re.compile(f"[{CONTROL}]")
_UNTYPED = re.compile(f"[{CONTROL}{FORMAT}]")
_UNWRITABLE = re.compile(f"[\x00{CONTROL}\ud800-\udfff]")  # and lone surrogates, which no encoding writes


def typed(text: str) -> str:
    """``text`` as a person meant it: control characters as spaces, format characters gone."""
    if _UNTYPED.search(text) is None:  # nearly always: one scan, no copy
        return text
    return _UNTYPED.sub(lambda found: " " if _CONTROL.match(found[0]) else "", text)


def writable(text: str) -> str:
    """``text`` without the characters a document cannot hold (NUL, the controls, lone surrogates)."""
    return _UNWRITABLE.sub("", text) if _UNWRITABLE.search(text) is not None else text
