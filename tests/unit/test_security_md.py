"""SECURITY.md names the tests that prove each protection (``file::test``, and ``::test`` for
another test of the same file): every one it names exists, so the table cannot drift from the
suite unnoticed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def named_tests(text: str) -> list[tuple[str, str]]:
    found, current = [], None
    for match in re.finditer(r"`(tests/[\w/]+\.py)?::(\w+)`|`(tests/[\w/]+\.py)`", text):
        if match.group(3):
            current = match.group(3)
            continue
        current = match.group(1) or current
        found.append((current, match.group(2)))
    return found


def test_every_test_security_md_names_exists():
    named = named_tests((ROOT / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(named) >= 20
    missing = []
    for path, name in named:
        assert path is not None, name
        source = ROOT / path
        if not source.is_file() or not re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
