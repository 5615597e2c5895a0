"""Dates are typed and shown as dd/mm/yyyy whatever the browser's language (kiosk.days): the
parser, the date fields' values, and every form and filter that takes a date reading it; ISO
(yyyy-mm-dd) links of before still work."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from factories import make_distribution, make_staff, make_worker
from kiosk import days
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.models import Distribution


@pytest.mark.parametrize("typed, day", [
    ("17/08/2026", date(2026, 8, 17)), ("7/8/2026", date(2026, 8, 7)), ("17-08-2026", date(2026, 8, 17)),
    ("17.08.2026", date(2026, 8, 17)), (" 01/01/1900 ", date(1900, 1, 1)), ("2026-08-17", date(2026, 8, 17)),
    ("31/12/2199", date(2199, 12, 31)),
])
def test_day_month_year_and_iso_are_read(typed, day):
    assert days.parse(typed) == day
    assert days.from_query(typed) == day


@pytest.mark.parametrize("typed", ["08/17/2026", "32/01/2026", "29/02/2026", "17/08/26", "2026/08/17", "17/08-2026", "besok", "17 Agustus 2026"])
def test_other_text_is_refused(typed):
    with pytest.raises(ValueError):
        days.parse(typed)
    assert days.from_query(typed) is None


@pytest.mark.parametrize("typed", ["31/02/1985", "29/02/2026", "32/01/2026", "31/04/2026", "2026-02-30"])
def test_a_day_the_calendar_does_not_have_is_refused_as_such(typed):
    """Written as a date, but no such day: said so, not "write it like 31-12-1980" (the form
    was right). A month over 12 keeps the format's hint (month and day swapped, most likely)."""
    with pytest.raises(days.NoSuchDay):
        days.parse(typed)
    with pytest.raises(ValueError) as swapped:
        days.parse("12/31/2026")
    assert not isinstance(swapped.value, days.NoSuchDay)


def test_the_enrollment_form_says_which_date_does_not_exist(app, client):
    from test_workers_views import enroll_form

    _login(client)
    response = client.post("/pekerja/baru", data=enroll_form(birth_date="31-02-1985", start="30/02/2027"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count("Tanggal itu tidak ada di kalender") == 2 and "Tulis seperti 31-12-1980" not in page


def test_outside_the_span_is_refused_as_such():
    with pytest.raises(days.OutOfRange):
        days.parse("31/12/1899")
    assert days.parse("") is None and days.parse(None) is None


def test_a_date_field_shows_day_month_year():
    assert days.field_text(date(2026, 8, 7)) == "07/08/2026"
    assert days.field_text(None) == ""


def _login(client):
    make_staff(role="admin", username="kepala")
    assert client.post("/masuk", data={"username": "kepala", "password": "rahasia-123"}).status_code == 302


def _date_fields(html: str) -> dict[str, str]:
    """name -> value of the typed date fields (data-date-text) of a page."""
    found = {}
    for tag in re.findall(r"<input[^>]*data-date-text[^>]*>", html, re.S):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        found[name] = re.search(r'value="([^"]*)"', tag).group(1)
    return found


def test_a_distribution_is_made_with_a_typed_date_and_edited_as_one(app, client):
    _login(client)
    form = {"name": "Tahap III", "day": "01/12/2026", "place": "Aula", "packages_total": "10", "contents": "",
            "eligibility": "coverage"}
    response = client.post("/penyaluran/baru", data=form)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    made = db.session.scalar(db.select(Distribution).where(Distribution.name == "Tahap III"))
    assert made.day == date(2026, 12, 1)
    page = client.get(f"/penyaluran/{made.id}/ubah").get_data(as_text=True)
    assert _date_fields(page) == {"day": "01/12/2026"}
    assert 'type="date" class="date-native"' in page  # the calendar behind the button
    # an unreadable date is said so, and the typed text stays in the field
    response = client.post("/penyaluran/baru", data={**form, "day": "12/31/2026"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 or "hh/bb/tttt" in body
    assert "Tulis tanggal sebagai hh/bb/tttt" in body and _date_fields(body)["day"] == "12/31/2026"


def test_worker_pages_show_day_month_year(app, client):
    _login(client)
    worker = make_worker(name="Tanggal Lahir", birth_date=date(1985, 3, 9))
    assert _date_fields(client.get(f"/pekerja/{worker.id}/ubah").get_data(as_text=True))["birth_date"] == "09/03/1985"
    today = today_jakarta()
    fields = _date_fields(client.get("/pekerja/baru").get_data(as_text=True))
    assert fields["birth_date"] == "" and fields["start"] == today.strftime("%d/%m/%Y")
    shown = _date_fields(client.get(f"/pekerja/{worker.id}").get_data(as_text=True))
    assert shown["start"] == today.strftime("%d/%m/%Y")  # the add-a-period form


def test_filters_read_day_month_year_and_old_iso_links(app, client):
    _login(client)
    before = today_jakarta() + timedelta(days=30)
    typed = before.strftime("%d/%m/%Y")
    page = client.get("/pekerja/perpanjang", query_string={"sebelum": typed})
    assert page.status_code == 200 and _date_fields(page.get_data(as_text=True))["sebelum"] == typed
    page = client.get("/pekerja/perpanjang", query_string={"sebelum": before.isoformat()})
    assert _date_fields(page.get_data(as_text=True))["sebelum"] == typed
    audit = client.get("/laporan/audit", query_string={"dari": "01/01/2026", "sampai": "2026-01-31"}).get_data(as_text=True)
    assert _date_fields(audit) == {"dari": "01/01/2026", "sampai": "31/01/2026"}
    cards = client.get("/kartu/", query_string={"pilihan": "terdaftar", "tanggal": "05/06/2026"}).get_data(as_text=True)
    assert _date_fields(cards)["tanggal"] == "05/06/2026"
    assert "Tidak ada kartu yang bisa dicetak untuk pilihan ini." in cards  # read as a day, not refused
