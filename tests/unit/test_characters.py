"""The characters typed text must not carry (``kiosk.characters``): the lists against Unicode's
own tables, and what ``typed`` and ``writable`` make of them."""

from __future__ import annotations

import re
import sys
import unicodedata

from kiosk.characters import CONTROL, FORMAT, typed, writable


def _category_members(category: str) -> set[str]:
    return {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == category}


def test_the_format_list_is_unicodes_category_cf():
    """Every format character of this Python's Unicode is in ``FORMAT``; ``FORMAT`` holds
    nothing else but code points a newer Unicode may have made format characters."""
    listed = re.compile(f"[{FORMAT}]")
    members = _category_members("Cf")
    assert all(listed.match(ch) for ch in members), sorted(hex(ord(ch)) for ch in members if not listed.match(ch))
    extra = {chr(c) for c in range(sys.maxunicode + 1) if listed.match(chr(c))} - members
    assert all(unicodedata.category(ch) == "Cn" for ch in extra), sorted(hex(ord(ch)) for ch in extra)


def test_the_control_list_is_every_control_but_tab_newlines_and_nul():
    listed = re.compile(f"[{CONTROL}]")
    controls = _category_members("Cc") - {"\x00", "\t", "\n", "\r"}
    assert {ch for ch in map(chr, range(0x10000)) if listed.match(ch)} == controls | {"\ufffe", "\uffff"}


def test_typed_text_as_meant():
    assert typed("Budi\x07Santoso") == "Budi Santoso"  # a control stood between two words
    assert typed("Siti\u200bAminah\ufeff") == "SitiAminah"  # invisible: gone
    assert typed("\u200b\u200b") == "" and typed("\ufeff") == ""
    assert typed("abc\u202edcba") == "abcdcba"  # no override turns the rest around
    assert typed("Jl. Merdeka\r\nNo. 5\tRT 02") == "Jl. Merdeka\r\nNo. 5\tRT 02"
    assert typed("Nguyễn Thị 👩‍🌾 ١٢٣") == "Nguyễn Thị 👩🌾 ١٢٣"  # only the zero-width joiner goes
    plain = "Siti Aminah"
    assert typed(plain) is plain  # nothing to clean: no copy


def test_writable_text_keeps_what_a_document_can_hold():
    assert writable("Budi\x07Santoso\uffff") == "BudiSantoso"
    assert writable("a\x00b\ud800c\x1bd") == "abcd"
    assert writable("Jl. Merdeka\nNo. 5\tRT 02 \u200b") == "Jl. Merdeka\nNo. 5\tRT 02 \u200b"
