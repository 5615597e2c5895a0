"""Enrollment domain: one validation for form and import, enroll/update/delete with audit,
coverage periods that never overlap, single and bulk renewal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from factories import make_card, make_coverage, make_staff, make_worker, nik_for
from kiosk import coverage, enrollment
from kiosk.coverage import default_end
from kiosk.extensions import db
from kiosk.models import AuditEvent, Coverage, Worker

BIRTH = date(1985, 7, 14)


@pytest.fixture(autouse=True)
def request_context(request):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
    name = "engine_app" if "engine_app" in request.fixturenames else "app"
    with request.getfixturevalue(name).test_request_context():
        yield


def form(**overrides) -> dict:
    """A complete, valid enrollment form for a man born 14-07-1985 in Muara Enim."""
    data = {
        "nik": nik_for(BIRTH, "L", "160302", serial=12),
        "name": "Budi Santoso",
        "sex": "L",
        "birth_place": "Muara Enim",
        "birth_date": "1985-07-14",
        "address": "Jl. Merdeka No. 1",
        "kecamatan": "160302",
        "desa": "",
        "occupation": "Petani",
        "occupation_other": "",
        "phone": "0812-3456-7890",
        "kpj": "",
        "income": "Rp1.500.000",
    }
    data["desa"] = first_desa(data["kecamatan"])
    data.update(overrides)
    return data


def first_desa(kecamatan: str) -> str:
    from kiosk.workers.forms import desa_choices

    return desa_choices(kecamatan)[0][0]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def text(messages) -> str:
    return " ".join(str(m) for m in messages)


# ---- validation ------------------------------------------------------------------------------

def test_valid_form_is_clean(app):
    check = enrollment.validate_worker(form())
    assert check.ok, check.errors
    clean = check.clean
    assert clean["nik"] == nik_for(BIRTH, "L", "160302", serial=12)
    assert clean["birth_date"] == BIRTH
    assert clean["income"] == 1_500_000
    assert clean["kecamatan_code"] == "160302"
    assert clean["desa_code"] and clean["desa_name"]
    assert clean["phone"] and clean["phone"] != "0812-3456-7890"  # normalised
    assert clean["kpj"] is None


def test_empty_form_names_every_required_field(app):
    check = enrollment.validate_worker({})
    assert set(check.errors) >= {"nik", "name", "sex", "birth_date", "kecamatan", "occupation", "income"}
    assert "NIK" in text(check.errors["nik"])
    assert "nama" in text(check.errors["name"]).lower()


@pytest.mark.parametrize(
    ("overrides", "field_name"),
    [
        ({"nik": "16030214078"}, "nik"),
        ({"nik": "16030214O7850012"}, "nik"),
        ({"birth_date": "14-07-1986"}, "nik"),  # disagrees with the NIK
        ({"sex": "P"}, "nik"),  # NIK says man (day 14, not 54)
        ({"birth_date": "31-02-1985"}, "birth_date"),
        ({"birth_date": "kemarin"}, "birth_date"),
        ({"sex": "X"}, "sex"),
        ({"kecamatan": "Gotham"}, "kecamatan"),
        ({"desa": "Desa Entah"}, "desa"),
        ({"occupation": "lainnya", "occupation_other": ""}, "occupation_other"),
        ({"phone": "12345"}, "phone"),
        ({"kpj": "12AB45"}, "kpj"),
        ({"income": "satu juta"}, "income"),
        ({"income": ""}, "income"),
        ({"name": "x" * 121}, "name"),
    ],
)
def test_bad_input_is_refused_on_its_field(app, overrides, field_name):
    check = enrollment.validate_worker(form(**overrides))
    assert not check.ok
    assert field_name in check.errors, check.errors
    assert all(str(m).strip() for m in check.errors[field_name])


def test_birth_date_from_the_future_is_refused(app):
    tomorrow = date.today() + timedelta(days=2)
    check = enrollment.validate_worker(form(birth_date=tomorrow.isoformat()))
    assert "birth_date" in check.errors


def test_nik_outside_muara_enim_is_a_warning_only(app):
    nik = "1671" + nik_for(BIRTH, "L", "160302", serial=12)[4:]  # Palembang
    check = enrollment.validate_worker(form(nik=nik))
    assert check.ok, check.errors
    assert check.warnings.get("nik")


def test_woman_nik_has_day_plus_40(app):
    nik = nik_for(BIRTH, "P", serial=44)
    assert enrollment.validate_worker(form(nik=nik, sex="P")).ok
    assert "nik" in enrollment.validate_worker(form(nik=nik, sex="L")).errors


def test_duplicate_nik_is_refused_with_the_existing_worker(app):
    other = make_worker(name="Siti Aminah", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    check = enrollment.validate_worker(form())
    assert "Siti Aminah" in text(check.errors["nik"])
    assert check.duplicate is not None and check.duplicate.id == other.id
    # editing that same worker is not a duplicate of themselves
    assert "nik" not in enrollment.validate_worker(form(), existing=other).errors
    # imports check uniqueness in bulk
    assert "nik" not in enrollment.validate_worker(form(), check_database=False).errors


def test_duplicate_kpj_is_refused(app):
    make_worker(name="Siti Aminah", kpj="12345678901")
    check = enrollment.validate_worker(form(kpj="123 4567 8901"))
    assert "Siti Aminah" in text(check.errors["kpj"])


def test_occupation_lainnya_uses_the_free_text(app):
    check = enrollment.validate_worker(form(occupation="lainnya", occupation_other="pembuat tahu"))
    assert check.clean["occupation"] == "Pembuat tahu"


def test_kecamatan_by_name_and_dotted_code(app):
    by_code = enrollment.validate_worker(form(kecamatan="16.03.02"))
    assert by_code.clean["kecamatan_code"] == "160302"
    from kiosk.workers.forms import kecamatan_choices

    name = dict(kecamatan_choices())["160302"]
    assert enrollment.validate_worker(form(kecamatan=name)).clean["kecamatan_code"] == "160302"


def test_date_formats_and_excel_dates(app):
    from datetime import datetime

    for value in ("1985-07-14", "14-07-1985", "14/07/1985", datetime(1985, 7, 14)):
        assert enrollment.validate_worker(form(birth_date=value)).clean["birth_date"] == BIRTH


# ---- the form agrees with itself; places as people write them (issue 16) ------------------------

def test_birth_date_the_nik_contradicts_is_marked_on_the_birth_date_too(app):
    check = enrollment.validate_worker(form(birth_date="15-07-1985"))
    assert "nik" in check.errors  # the refusal stays on the NIK
    assert "14-07-1985" in str(check.conflicts["birth_date"])
    assert "birth_date" not in check.errors  # not refused twice (the import lists every error)
    assert "sex" not in check.conflicts


def test_sex_the_nik_contradicts_is_marked_on_the_sex_too(app):
    check = enrollment.validate_worker(form(sex="P"))
    assert "nik" in check.errors
    assert "laki-laki" in str(check.conflicts["sex"])
    woman = enrollment.validate_worker(form(nik=nik_for(BIRTH, "P", serial=44), sex="L"))
    assert "perempuan" in str(woman.conflicts["sex"])


def test_nothing_contradicts_an_agreeing_form(app):
    assert enrollment.validate_worker(form()).conflicts == {}
    # Without a NIK there is nothing to contradict.
    assert enrollment.validate_worker(form(nik="")).conflicts == {}


def test_nik_issued_in_another_kecamatan_is_a_warning_on_the_kecamatan(app):
    lawang_kidul = nik_for(BIRTH, "L", "160307", serial=12)
    check = enrollment.validate_worker(form(nik=lawang_kidul))  # Muara Enim chosen
    assert check.ok, check.errors
    message = text(check.warnings["kecamatan"])
    assert "Lawang Kidul" in message and "Muara Enim" in message
    assert "kecamatan" not in enrollment.validate_worker(form()).warnings
    palembang = "1671" + lawang_kidul[4:]  # outside Muara Enim: the NIK's own warning, not this one
    assert "kecamatan" not in enrollment.validate_worker(form(nik=palembang)).warnings


@pytest.mark.parametrize("written, official", [
    ("Pasar I", "Pasar I Muara Enim"), ("Ds. Pasar 2", "Pasar II Muara Enim"), ("KEL. PASAR III", "Pasar III Muara Enim"),
])
def test_desa_as_people_write_it_is_accepted_with_the_official_name_as_a_warning(app, written, official):
    check = enrollment.validate_worker(form(kecamatan="Kec. Muara Enim", desa=written))
    assert check.ok, check.errors
    assert check.clean["desa_name"] == official
    assert official in text(check.warnings["desa"]) and written in text(check.warnings["desa"])


def test_official_desa_name_in_other_case_needs_no_warning(app):
    check = enrollment.validate_worker(form(kecamatan="muara enim", desa="desa pasar i muara enim"))
    assert check.ok and check.clean["desa_name"] == "Pasar I Muara Enim"
    assert "desa" not in check.warnings and "kecamatan" not in check.warnings


def test_ambiguous_desa_is_refused_with_the_candidates(app):
    check = enrollment.validate_worker(form(desa="Pasar"))
    message = text(check.errors["desa"])
    assert all(name in message for name in ("Pasar I Muara Enim", "Pasar II Muara Enim", "Pasar III Muara Enim"))


def test_unknown_desa_suggests_the_nearest_and_where_it_really_is(app):
    typo = text(enrollment.validate_worker(form(desa="Pasar Tiga Muara Enim")).errors["desa"])
    assert "tidak ada" in typo
    elsewhere = text(enrollment.validate_worker(form(desa="Tanjung Enim")).errors["desa"])
    assert "Lawang Kidul" in elsewhere  # the desa exists, in another kecamatan


def test_kecamatan_missing_is_taken_from_a_desa_found_in_one_kecamatan_only(app):
    check = enrollment.validate_worker(form(kecamatan="", desa="Tanjung Enim Selatan",
                                            nik=nik_for(BIRTH, "L", "160307", serial=12)))
    assert check.ok, check.errors
    assert check.clean["kecamatan_code"] == "160307"
    assert "Lawang Kidul" in text(check.warnings["kecamatan"])
    ambiguous = enrollment.validate_worker(form(kecamatan="", desa="Pagar Dewa"))
    assert "Tanjung Agung" in text(ambiguous.errors["kecamatan"]) and "Benakat" in text(ambiguous.errors["kecamatan"])
    assert "kecamatan" in enrollment.validate_worker(form(kecamatan="", desa="")).errors


def test_ambiguous_kecamatan_is_refused_with_the_candidates(app):
    message = text(enrollment.validate_worker(form(kecamatan="Semende Darat")).errors["kecamatan"])
    assert "Semende Darat Laut" in message and "Semende Darat Ulu" in message


# ---- writes ----------------------------------------------------------------------------------

def test_enroll_writes_worker_first_coverage_and_audit(engine_app):
    staff = make_staff()
    check = enrollment.validate_worker(form())
    period = enrollment.validate_coverage({"start": "2026-12-01", "jht": ""})
    worker = enrollment.enroll(check.clean, staff=staff, coverage=period.clean)
    db.session.expire_all()
    stored = db.session.get(Worker, worker.id)
    assert stored.created_by_id == staff.id
    (cov,) = stored.coverages
    assert (cov.start_date, cov.end_date) == (date(2026, 12, 1), default_end(date(2026, 12, 1)))
    assert cov.programmes == ["JKK", "JKM"]
    assert cov.funder == "Pemkab Muara Enim"
    assert cov.monthly_contribution == 15_000 + 6_800  # JKK 1 % of Rp1.500.000 + JKM
    actions = db.session.execute(select(AuditEvent.entity_type, AuditEvent.action)).all()
    assert ("worker", "worker.create") in actions and ("coverage", "coverage.create") in actions


def test_enroll_race_on_nik_writes_nothing(engine_app):
    clean = enrollment.validate_worker(form()).clean
    enrollment.enroll(clean, staff=None)
    before = (count(Worker), count(AuditEvent), count(Coverage))
    with pytest.raises(enrollment.Refused) as refused:
        enrollment.enroll(clean, staff=None, coverage={"start": date(2026, 1, 1)})
    assert "nik" in refused.value.errors
    assert (count(Worker), count(AuditEvent), count(Coverage)) == before


def test_update_audits_only_what_changed(engine_app):
    staff = make_staff()
    worker = enrollment.enroll(enrollment.validate_worker(form()).clean, staff=staff)
    check = enrollment.validate_worker(form(name="Budi Santosa", income="2.000.000"), existing=worker)
    enrollment.update(worker, check.clean, staff=staff)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.update")).one()
    assert event.before == {"name": "Budi Santoso", "income": 1_500_000}
    assert event.after == {"name": "Budi Santosa", "income": 2_000_000}
    assert event.staff_id == staff.id
    # a save without changes leaves no event
    enrollment.update(worker, check.clean, staff=staff)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "worker.update")) == 1


def test_delete_only_without_card(engine_app):
    staff = make_staff()
    worker = make_worker()
    make_coverage(worker)
    card_holder = make_worker()
    make_card(card_holder)
    before = (count(Worker), count(Coverage))
    with pytest.raises(enrollment.Refused) as refused:
        enrollment.delete(card_holder, staff=staff)
    assert "kartu" in str(refused.value.message)
    assert (count(Worker), count(Coverage)) == before
    worker_id = worker.id
    enrollment.delete(worker, staff=staff)
    assert db.session.get(Worker, worker_id) is None
    assert count(Coverage) == 0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.delete")).one()
    assert event.entity_id == worker_id and event.before["coverages"]


# ---- coverage periods ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 1, 1), date(2026, 1, 31)),  # inside
        (date(2025, 12, 1), date(2026, 1, 1)),  # touches the first day
        (date(2026, 3, 31), date(2026, 6, 30)),  # touches the last day
        (date(2025, 1, 1), date(2027, 1, 1)),  # around
    ],
)
def test_overlapping_period_is_refused(engine_app, start, end):
    worker = make_worker()
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    before = (count(Coverage), count(AuditEvent))
    with pytest.raises(enrollment.Refused) as refused:
        enrollment.add_coverage(worker, start=start, end=end, programmes=("JKK", "JKM"), staff=None)
    assert "tumpang tindih" in str(refused.value.message)
    assert (count(Coverage), count(AuditEvent)) == before


def test_adjacent_periods_and_other_workers_are_fine(engine_app):
    worker, other = make_worker(), make_worker()
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    enrollment.add_coverage(worker, start=date(2026, 4, 1), programmes=("JKK", "JKM", "JHT"), staff=None)
    enrollment.add_coverage(other, start=date(2026, 1, 1), end=date(2026, 3, 31), programmes=("JKK", "JKM"), staff=None)
    assert count(Coverage) == 3
    jht = db.session.scalars(select(Coverage).where(Coverage.jht.is_(True))).one()
    assert jht.end_date == default_end(date(2026, 4, 1))
    assert jht.monthly_contribution == 15_000 + 6_800 + 30_000  # JHT 2 % of Rp1.500.000


def test_renew_starts_the_day_after_the_latest_end(engine_app):
    worker = make_worker()
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31), funder="CSR Bank Sumsel")
    period = enrollment.renew(worker, staff=None, today=date(2026, 3, 20))
    assert period.start_date == date(2026, 4, 1)
    assert period.end_date == default_end(date(2026, 4, 1))
    assert period.funder == "CSR Bank Sumsel"
    assert count(Coverage) == 2  # history kept


def test_renew_after_a_long_gap_starts_today(engine_app):
    worker = make_worker()
    make_coverage(worker, start=date(2025, 1, 1), end=date(2025, 3, 31))
    period = enrollment.renew(worker, staff=None, today=date(2026, 2, 10))
    assert period.start_date == date(2026, 2, 10)


def test_renew_without_a_period_is_refused(engine_app):
    worker = make_worker()
    with pytest.raises(enrollment.Refused):
        enrollment.renew(worker, staff=None)
    assert count(Coverage) == 0


def test_bulk_renewal_preview_matches_its_effect(engine_app):
    today = date(2026, 3, 20)
    ending_soon = [make_worker(name=f"Segera {i}") for i in range(3)]
    for w in ending_soon:
        make_coverage(w, start=date(2026, 1, 1), end=date(2026, 3, 31))
    renewed_already = make_worker(name="Sudah diperpanjang")
    make_coverage(renewed_already, start=date(2026, 1, 1), end=date(2026, 3, 31))
    make_coverage(renewed_already, start=date(2026, 4, 1), end=date(2026, 6, 30))
    later = make_worker(name="Masih lama")
    make_coverage(later, start=date(2026, 3, 1), end=date(2026, 5, 31))
    make_worker(name="Tanpa cakupan")

    preview = enrollment.renewal_preview(date(2026, 4, 15), today=today)
    assert sorted(r.worker.id for r in preview) == sorted(w.id for w in ending_soon)
    assert {r.new_start for r in preview} == {date(2026, 4, 1)}
    before = count(Coverage)
    assert count(Coverage) == before  # the preview wrote nothing

    renewed = enrollment.renew_many(date(2026, 4, 15), staff=None, today=today)
    assert renewed == len(preview)
    assert count(Coverage) == before + len(preview)
    for w in ending_soon:
        ends = db.session.scalars(select(Coverage.end_date).where(Coverage.worker_id == w.id)).all()
        assert max(ends) == default_end(date(2026, 4, 1))
    assert enrollment.renewal_preview(date(2026, 4, 15), today=today) == []


def test_status_today_picks_the_period_for_the_day(app):
    worker = make_worker()
    old = make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    new = make_coverage(worker, start=date(2026, 4, 1), end=date(2026, 6, 30))
    periods = [old, new]
    assert coverage.status_today(periods, date(2026, 3, 31))[0] is old
    assert coverage.status_today(periods, date(2026, 4, 1))[0] is new
    period, status = coverage.status_today(periods, date(2026, 7, 1))
    assert period is new and status.code == "berakhir"
    assert coverage.status_today([], date(2026, 7, 1)) == (None, None)


def test_concurrent_overlapping_periods_only_one_lands(engine_app):
    """Two staff add overlapping periods for the same worker at the same moment: the check runs
    inside the write transaction (SQLite: write lock up front; PostgreSQL: the worker's row
    locked), so exactly one period is written."""
    import threading

    worker_id = make_worker().id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def add(start: date) -> None:
        with engine_app.app_context():
            worker = db.session.get(Worker, worker_id)
            barrier.wait()
            try:
                enrollment.add_coverage(worker, start=start, programmes=("JKK", "JKM"), staff=None)
                outcomes.append("ok")
            except enrollment.Refused:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(d,)) for d in (date(2026, 1, 1), date(2026, 2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok", "refused"]
    db.session.rollback()  # end this thread's read snapshot
    assert db.session.scalar(select(func.count()).where(Coverage.worker_id == worker_id)) == 1


def test_status_counts_days_through_a_following_renewal(app):
    worker = make_worker()
    first = make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    renewal = make_coverage(worker, start=date(2026, 4, 1), end=date(2026, 6, 30))
    period, status = coverage.status_today([first, renewal], date(2026, 3, 30))
    assert period is first and status.code == "aktif"
    assert status.days_left == (date(2026, 6, 30) - date(2026, 3, 30)).days


def test_insert_worker_many_in_one_transaction_lands_whole_or_not_at_all(engine_app):
    from kiosk.database import write_transaction

    rows = [enrollment.validate_worker(form(nik=nik_for(BIRTH, "L", serial=s), name=f"Pekerja {s}")).clean
            for s in (101, 102)]
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with write_transaction():
            for clean in rows + [rows[0]]:  # the third repeats a NIK
                enrollment.insert_worker(clean, staff=None)
    db.session.rollback()
    assert (count(Worker), count(AuditEvent)) == (0, 0)
    with write_transaction():
        for clean in rows:
            enrollment.insert_worker(clean, staff=None, coverage={"start": date(2026, 1, 1)})
    assert (count(Worker), count(Coverage), count(AuditEvent)) == (2, 2, 4)
