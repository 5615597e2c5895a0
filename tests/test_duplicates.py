"""Probable duplicates (kiosk.duplicates): the same person under two NIKs, found at enrollment,
for a whole import file in a few queries, and across the registry; "orang berbeda" with a
reason, recorded and audited."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy import event, func, insert, select, text

from factories import make_staff, make_worker, nik_for
from kiosk import duplicates, enrollment
from kiosk.extensions import db
from kiosk.models import AuditEvent, DistinctPair, Worker

BIRTH = date(1985, 7, 14)
PASAR_I = "1603021009"
PASAR_II = "1603021007"


@pytest.fixture(autouse=True)
def request_context(request):
    """Messages are lazy strings; rendering them needs a request (for the locale)."""
    name = "engine_app" if "engine_app" in request.fixturenames else "app"
    with request.getfixturevalue(name).test_request_context():
        yield


@contextmanager
def selects():
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def enrolled(name="Budi Santoso", birth=BIRTH, serial=12, desa=PASAR_I, sex="L", kec="160302"):
    return make_worker(name=name, birth_date=birth, sex=sex, kecamatan=kec, nik=nik_for(birth, sex, kec, serial=serial),
                       desa_code=desa, desa_name="Pasar I Muara Enim")


def clean(name="Budi Santoso", birth=BIRTH, serial=99, desa=PASAR_I, sex="L", kec="160302") -> dict:
    return {"nik": nik_for(birth, sex, kec, serial=serial), "name": name, "birth_date": birth, "desa_code": desa}


# ---- one worker (the enroll form) -----------------------------------------------------------------

def test_same_name_and_birth_date_under_another_nik(engine_app):
    other = enrolled("Hj. Siti Noerhajati", serial=12, sex="P")
    found = duplicates.for_worker(clean("SITI NURHAYATI", serial=500, sex="P", desa=PASAR_II))
    assert [(p.worker_id, p.why) for p in found] == [(other.id, "name")]
    assert "Hj. Siti Noerhajati yang sudah terdaftar" in str(found[0].message)
    assert duplicates.for_worker(clean("Siti Nurhayati", birth=date(1985, 7, 15), sex="P")) == []


def test_nik_cut_by_excel_same_birth_date_and_desa(engine_app):
    real = enrolled("Budi Santoso", serial=12)  # ...0012
    cut = clean("Budi Santosa", serial=10)  # Excel kept 15 digits: ...0010, and a typo in the name
    found = duplicates.for_worker(cut)
    assert [(p.worker_id, p.why) for p in found] == [(real.id, "nik")]
    assert "dua angka terakhir" in str(found[0].message)
    # Another desa, or more than the last two digits different: not the same person.
    assert duplicates.for_worker(dict(cut, desa_code=PASAR_II)) == []
    assert duplicates.for_worker(clean("Budi Santosa", serial=112)) == []


def test_the_same_nik_is_not_a_probable_duplicate_but_the_nik_refusal(engine_app):
    worker = enrolled(serial=12)
    assert duplicates.for_worker(clean(serial=12)) == []
    assert duplicates.for_worker(clean(serial=13), exclude_id=worker.id) == []  # editing themselves


def test_one_indexed_query_per_worker(engine_app):
    enrolled(serial=12)
    with selects() as seen:
        assert len(duplicates.for_worker(clean(serial=10))) == 1
    assert len(seen) == 1, seen


def test_pairs_confirmed_different_are_not_shown_again(engine_app):
    staff = make_staff()
    first = enrolled(serial=12)
    second = enrolled("Budi Santoso", serial=13)  # twins? the same name and day
    assert [p.worker_id for p in duplicates.for_worker(clean(serial=13), exclude_id=second.id)] == [first.id]
    duplicates.confirm_different(second, first, "  kembar, sudah dicek   di KTP ", staff=staff)
    assert duplicates.for_worker(clean(serial=13), exclude_id=second.id) == []
    pair = db.session.scalar(select(DistinctPair))
    assert (pair.worker_id, pair.other_id, pair.reason, pair.decided_by_id) == (first.id, second.id,
                                                                                 "kembar, sudah dicek di KTP", staff.id)
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "distinct_pair"))
    assert audit.action == "distinct_pair.create" and audit.staff_id == staff.id
    assert audit.after == {"worker_id": first.id, "other_id": second.id, "reason": "kembar, sudah dicek di KTP"}
    duplicates.confirm_different(first, second, "lagi", staff=staff)  # already recorded: nothing more
    assert db.session.scalar(select(func.count()).select_from(DistinctPair)) == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_orang_berbeda_needs_a_reason(engine_app, reason):
    first, second = enrolled(serial=12), enrolled(serial=13)
    with pytest.raises(duplicates.ReasonError):
        duplicates.confirm_different(first, second, reason, staff=None)
    assert db.session.scalar(select(func.count()).select_from(DistinctPair)) == 0


def test_name_key_follows_the_name_on_every_write(engine_app):
    worker = enrolled("Budi Santoso")
    assert worker.name_key == "budisantoso"
    enrollment.update(worker, {"name": "Moch. Yusuf"}, staff=None)
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).name_key == "muhamadyusuf"


def test_deleting_a_worker_forgets_their_decisions(engine_app):
    first, second = enrolled(serial=12), enrolled(serial=13)
    duplicates.confirm_different(first, second, "kembar", staff=None)
    enrollment.delete(second, staff=None)
    assert db.session.scalar(select(func.count()).select_from(DistinctPair)) == 0


# ---- a whole import file ----------------------------------------------------------------------------

def test_in_rows_finds_registry_and_earlier_rows_in_a_few_queries(engine_app):
    real = enrolled("Budi Santoso", serial=12)
    rows = [(n + 2, clean(f"Pekerja {n}", birth=date(1970 + n % 30, 1 + n % 12, 1 + n % 28), serial=n + 100))
            for n in range(300)]
    rows.append((400, clean("Budi Santosa", serial=10)))  # the Excel-cut NIK of an enrolled worker
    rows.append((401, clean("Ani Lestari", birth=date(1990, 1, 2), sex="P", serial=7)))
    rows.append((402, clean("ANI LESTARI", birth=date(1990, 1, 2), sex="P", serial=8, desa=PASAR_II)))
    with selects() as seen:
        found = duplicates.in_rows(rows)
    assert len(seen) <= 2, seen  # one for names, one for (desa, birth date): not one per row
    assert set(found) == {400, 402}
    assert [(p.worker_id, p.why) for p in found[400]] == [(real.id, "nik")]
    assert [(p.line, p.why) for p in found[402]] == [(401, "name")]
    assert "baris 401 (Ani Lestari)" in str(found[402][0].message)


# ---- the registry ----------------------------------------------------------------------------------

def test_registry_lists_each_probable_pair_once_until_decided(engine_app):
    a = enrolled("Budi Santoso", serial=12)
    b = enrolled("BUDI SANTOSO", serial=13)  # name and birth date, and NIK stem: listed once
    c = enrolled("Rahmat", birth=date(1990, 5, 5), serial=20)
    d = enrolled("Rahmad", birth=date(1990, 5, 5), serial=21)  # NIK stem, same desa
    enrolled("Rahmat", birth=date(1991, 5, 5), serial=20)  # other day: no
    enrolled("Rahmat", birth=date(1990, 5, 5), serial=22, desa=PASAR_II, kec="160302")  # name+day: with c
    pairs = duplicates.registry_pairs()
    listed = {(p.first.id, p.second.id, p.why) for p in pairs}
    assert (a.id, b.id, "name") in listed and (c.id, d.id, "nik") in listed
    assert len([p for p in pairs if {p.first.id, p.second.id} == {a.id, b.id}]) == 1
    assert duplicates.registry_count() == len(pairs) == 3
    duplicates.confirm_different(a, b, "kembar", staff=None)
    assert duplicates.registry_count() == 2
    page = duplicates.registry_pairs(limit=1)
    rest = duplicates.registry_pairs(after=(page[0].first.id, page[0].second.id))
    assert len(page) == 1 and len(rest) == 1 and rest[0] != page[0]


# ---- the migration fills the key for workers enrolled before it ---------------------------------------

def test_migration_fills_name_keys_of_existing_workers(engine_app):
    from flask_migrate import downgrade, upgrade

    downgrade(revision="0003")
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO worker (nik, name, sex, birth_place, birth_date, address, kecamatan_code, desa_name, "
            "occupation, income, created_at) VALUES ('1603021407850012', 'Hj. Siti Noerhajati', 'P', '', "
            "'1985-07-14', '', '160302', '', '', 0, CURRENT_TIMESTAMP)"))
    upgrade()
    db.session.remove()
    assert db.session.scalar(select(Worker.name_key)) == "sitinurhayati"


def test_the_worker_page_shows_probable_and_confirmed_different_workers(engine_app):
    from factories import make_staff

    client = engine_app.test_client()
    make_staff(role="admin", username="siti", password="benar-sekali")
    client.post("/masuk", data={"username": "siti", "password": "benar-sekali"})
    a, b = enrolled(serial=12), enrolled(serial=13)
    c = enrolled("Budi Santoso", serial=14)
    page = client.get(f"/pekerja/{a.id}").get_data(as_text=True)
    assert "Kemungkinan data ganda" in page and f'href="/pekerja/{b.id}"' in page and f'href="/pekerja/{c.id}"' in page
    duplicates.confirm_different(a, b, "Kembar <b>dicek</b>", staff=None)
    page = client.get(f"/pekerja/{a.id}").get_data(as_text=True)
    assert "Bukan orang yang sama dengan Budi Santoso: Kembar &lt;b&gt;dicek&lt;/b&gt;" in page
    assert "Kemungkinan data ganda" not in client.get(f"/pekerja/{enrolled('Lain', birth=date(1970, 1, 1)).id}").get_data(as_text=True)


def test_registry_first_page_finds_and_counts_the_pairs_in_one_query(engine_app):
    a, b = enrolled("Budi Santoso", serial=12), enrolled("BUDI SANTOSO", serial=13)
    c, d = enrolled("Rahmat", birth=date(1990, 5, 5), serial=20), enrolled("Rahmad", birth=date(1990, 5, 5), serial=21)
    x = enrolled("Rahmad", birth=date(1990, 5, 5), serial=40)  # d's name and day; c's NIK stem, day and desa
    e = enrolled("Lain", birth=date(1970, 1, 1), serial=30)
    enrolled("Lain Lagi", birth=date(1970, 1, 1), serial=31, desa=PASAR_II)  # NIK stem but another desa: no
    db.session.expire_all()
    with selects() as seen:
        pairs, total = duplicates.registry_first_page(limit=2)
    assert len(seen) == 2, seen  # the pairs with their count, then their workers
    assert total == duplicates.registry_count() == 4 and len(pairs) == 2
    everything = [(p.first.id, p.second.id, p.why) for p in duplicates.registry_pairs()]
    assert [(p.first.id, p.second.id, p.why) for p in pairs] == everything[:2]
    assert set(everything) == {(a.id, b.id, "name"), (c.id, d.id, "nik"), (c.id, x.id, "nik"), (d.id, x.id, "name")}
    assert not any(e.id in pair[:2] for pair in everything)
    duplicates.confirm_different(c, d, "kembar", staff=None)
    assert duplicates.registry_first_page()[1] == 3


def test_registry_pairs_read_the_indexes_not_the_table(app):
    """SQLite's plan: each rule groups along its index (covering: the table is not read), then
    makes pairs inside the groups through the same index. PostgreSQL chooses by its statistics."""
    pairs, query = duplicates._pair_ids_query()
    sql = str(query.order_by(pairs.c.first).compile(db.engine, compile_kwargs={"literal_binds": True}))
    plan = [row[3] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]
    assert "SCAN worker USING COVERING INDEX ix_worker_name_key_birth" in plan, plan
    assert any(step.startswith("SEARCH worker USING COVERING INDEX ix_worker_desa_birth") for step in plan), plan
    assert not [step for step in plan if step.startswith("SCAN worker") and "INDEX" not in step], plan
    assert sum("ix_worker_name_key_birth" in step for step in plan) == 3
    assert sum("ix_worker_desa_birth" in step for step in plan) == 3
