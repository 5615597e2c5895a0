"""The kiosk's signed tickets (``kiosk.terminal.tickets``): what they carry comes back only from
a genuine, unexpired ticket of the same purpose."""

from __future__ import annotations

import pytest

from kiosk.terminal import tickets

SECRET = "s" * 40


def test_a_ticket_gives_back_its_fields():
    ticket = tickets.make(SECRET, "claim", 12, 34, 5, 6, "ab" * 16)
    assert tickets.read(SECRET, "claim", ticket, 5, max_age=600) == ["12", "34", "5", "6", "ab" * 16]
    assert len(ticket) < 120 and ticket.isascii() and "/" not in ticket and "+" not in ticket


@pytest.mark.parametrize("change", [
    lambda t: t.replace("12.", "13.", 1),          # another worker
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the MAC altered
    lambda t: t.rsplit(".", 1)[0],                 # the MAC cut off
    lambda t: t + ".7",                            # a field too many
    lambda t: "",
    lambda t: "é" * 30,
    lambda t: t * 5,                               # too long
])
def test_an_altered_ticket_is_refused(change):
    ticket = tickets.make(SECRET, "claim", 12, 34, 5, 6, "ab" * 16)
    assert tickets.read(SECRET, "claim", change(ticket), 5, max_age=600) is None


def test_another_secret_or_purpose_is_refused():
    ticket = tickets.make(SECRET, "photo", 12, 5)
    assert tickets.read("t" * 40, "photo", ticket, 2, max_age=120) is None
    assert tickets.read(SECRET, "claim", ticket, 2, max_age=120) is None
    assert tickets.read(SECRET, "photo", ticket, 2, max_age=120) == ["12", "5"]


def test_a_ticket_expires_and_may_come_from_a_clock_a_little_ahead(monkeypatch):
    now = 1_800_000_000
    ticket = tickets.make(SECRET, "claim", 1, 2, 3, 4, "r", now=now)
    monkeypatch.setattr(tickets.time, "time", lambda: now + 600)
    assert tickets.read(SECRET, "claim", ticket, 5, max_age=600) is not None
    monkeypatch.setattr(tickets.time, "time", lambda: now + 601)
    assert tickets.read(SECRET, "claim", ticket, 5, max_age=600) is None
    monkeypatch.setattr(tickets.time, "time", lambda: now - tickets.CLOCK_SKEW)
    assert tickets.read(SECRET, "claim", ticket, 5, max_age=600) is not None
    monkeypatch.setattr(tickets.time, "time", lambda: now - tickets.CLOCK_SKEW - 1)
    assert tickets.read(SECRET, "claim", ticket, 5, max_age=600) is None
