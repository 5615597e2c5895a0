"""Worker pages: list with search/filters/paging, enroll/edit with live checks, worker page,
photo, coverage panel, renewal (single and bulk), deletion; plain and htmx requests."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from factories import make_card, make_coverage, make_distribution, make_worker, nik_for
from kiosk.coverage import default_end
from kiosk.extensions import db
from kiosk.models import AuditEvent, Coverage, Worker

BIRTH = date(1985, 7, 14)
HX = {"HX-Request": "true"}


def hx(target: str) -> dict:
    return {"HX-Request": "true", "HX-Target": target}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def first_desa(kecamatan="160302") -> str:
    from kiosk.wilayah import desa_list

    return desa_list(kecamatan)[0].code


def enroll_form(**overrides) -> dict:
    data = {
        "nik": nik_for(BIRTH, "L", serial=12), "name": "Budi Santoso", "sex": "L",
        "birth_place": "Muara Enim", "birth_date": "1985-07-14", "address": "Jl. Merdeka 1",
        "kecamatan": "160302", "desa": first_desa(), "occupation": "Petani", "occupation_other": "",
        "phone": "0812 3456 7890", "kpj": "", "income": "Rp1.500.000",
        "with_coverage": "1", "start": "2026-12-01", "end": "", "funder": "Pemkab Muara Enim",
    }
    data.update(overrides)
    return data


def jpeg(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def staff(client):
    """A signed-in petugas. (The sign-in form itself is tested in test_auth.py; skipping its
    password hashing keeps this file fast.)"""
    from kiosk.models import Staff

    admin = Staff(username="admin", full_name="Admin", role="admin", password_hash="-")
    member = Staff(username="petugas", full_name="Petugas Satu", role="petugas", password_hash="-")
    db.session.add_all([admin, member])
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = member.get_id()
        session["_fresh"] = True
    return member


def html(response) -> str:
    return response.get_data(as_text=True)


# ---- access ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/pekerja/"), ("get", "/pekerja/baru"), ("post", "/pekerja/baru"), ("get", "/pekerja/1"),
     ("get", "/pekerja/1/foto"), ("post", "/pekerja/1/perpanjang"), ("get", "/pekerja/perpanjang"),
     ("post", "/pekerja/periksa/nik"), ("post", "/pekerja/1/hapus")],
)
def test_signed_out_is_sent_to_sign_in(client, method, path):
    make_worker()
    response = getattr(client, method)(path)
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]
    htmx = getattr(client, method)(path, headers=HX)
    assert htmx.status_code == 401 and "HX-Redirect" in htmx.headers


# ---- enroll ----------------------------------------------------------------------------------

def test_enroll_form_page(client, staff):
    response = client.get("/pekerja/baru")
    assert response.status_code == 200
    page = html(response)
    assert "Daftarkan pekerja" in page
    assert 'hx-post="/pekerja/periksa/nik"' in page
    assert "Pemkab Muara Enim" in page
    assert "<script>" not in page and 'style="' not in page


def test_enroll_writes_worker_and_coverage(client, staff):
    response = client.post("/pekerja/baru", data=enroll_form())
    assert response.status_code == 303, html(response)
    worker = db.session.scalars(select(Worker)).one()
    assert response.headers["Location"].endswith(f"/pekerja/{worker.id}")
    assert worker.phone and worker.income == 1_500_000 and worker.created_by_id == staff.id
    (period,) = worker.coverages
    assert period.end_date == default_end(date(2026, 12, 1))
    page = html(client.get(response.headers["Location"]))
    assert "Budi Santoso sudah terdaftar." in page
    assert "Rp21.800" in page  # JKK 1 % of Rp1.500.000 + JKM Rp6.800
    assert "Rp65.400" in page  # three months


def test_enroll_with_errors_writes_nothing_and_says_why(client, staff):
    response = client.post("/pekerja/baru", data=enroll_form(nik="1603", income="banyak", kpj="12a"))
    assert response.status_code == 422
    page = html(response)
    assert "Data belum tersimpan" in page
    assert "NIK harus 16 angka" in page
    assert "KPJ hanya berisi angka" in page
    assert (count(Worker), count(Coverage), count(AuditEvent)) == (0, 0, 0)
    assert 'value="Budi Santoso"' in page  # what was typed is kept


def test_enroll_bad_coverage_writes_nothing(client, staff):
    response = client.post("/pekerja/baru", data=enroll_form(start="2026-12-01", end="2026-11-01"))
    assert response.status_code == 422
    assert "tidak boleh sebelum tanggal mulai" in html(response)
    assert (count(Worker), count(Coverage)) == (0, 0)


def test_enroll_duplicate_nik_links_to_the_existing_worker(client, staff):
    other = make_worker(name="Siti Aminah", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    response = client.post("/pekerja/baru", data=enroll_form())
    assert response.status_code == 422
    page = html(response)
    assert "sudah terdaftar atas nama Siti Aminah" in page
    assert f'href="/pekerja/{other.id}"' in page
    assert count(Worker) == 1


def test_enroll_with_photo(client, staff):
    data = enroll_form() | {"photo_file": (io.BytesIO(jpeg()), "kamera.jpg", "image/jpeg")}
    response = client.post("/pekerja/baru", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    worker = db.session.scalars(select(Worker)).one()
    assert worker.photo
    photo = client.get(f"/pekerja/{worker.id}/foto")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert "no-store" in photo.headers["Cache-Control"]
    assert photo.get_data()[:2] == b"\xff\xd8"
    photo.close()


def test_enroll_refuses_a_non_image_and_keeps_nothing(client, staff):
    data = enroll_form() | {"photo_file": (io.BytesIO(b"%PDF-1.4 nope"), "foto.jpg", "image/jpeg")}
    response = client.post("/pekerja/baru", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "bukan foto" in html(response)
    assert count(Worker) == 0


def test_photo_kept_across_a_refused_submit(client, staff):
    data = enroll_form(name="") | {"photo_file": (io.BytesIO(jpeg()), "kamera.jpg", "image/jpeg")}
    response = client.post("/pekerja/baru", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    name = re.search(r'name="photo" value="([0-9a-f]{32}\.jpg)"', html(response)).group(1)
    pending = client.get(f"/pekerja/foto-sementara/{name}")
    assert pending.status_code == 200
    pending.close()
    response = client.post("/pekerja/baru", data=enroll_form(photo=name))
    assert response.status_code == 303
    assert db.session.scalars(select(Worker)).one().photo == name


# ---- live checks -----------------------------------------------------------------------------

def test_live_nik_check_fragment(client, staff):
    response = client.post("/pekerja/periksa/nik", data={"nik": "12345"}, headers=hx("feedback-nik"))
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<div class="feedback" id="feedback-nik"')
    assert "NIK harus 16 angka" in page
    assert "<html" not in page
    assert "HX-Target" in response.headers["Vary"]


def test_live_nik_check_warns_outside_muara_enim_and_says_ok(client, staff):
    nik = "1671" + nik_for(BIRTH, "L", serial=12)[4:]
    page = html(client.post("/pekerja/periksa/nik", data={"nik": nik}, headers=hx("feedback-nik")))
    assert 'class="warning"' in page and 'class="error"' not in page
    ok = html(client.post("/pekerja/periksa/nik", data={"nik": nik_for(BIRTH, "L", serial=12)}, headers=hx("feedback-nik")))
    assert "Sudah benar" in ok


def test_live_nik_check_duplicate_links(client, staff):
    other = make_worker(name="Siti Aminah", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    page = html(client.post("/pekerja/periksa/nik", data={"nik": other.nik}, headers=hx("feedback-nik")))
    assert f'href="/pekerja/{other.id}"' in page and "Siti Aminah" in page


def test_live_birth_date_check_also_refreshes_the_nik(client, staff):
    data = {"nik": nik_for(BIRTH, "L", serial=12), "birth_date": "1986-07-14", "sex": "L"}
    page = html(client.post("/pekerja/periksa/birth_date", data=data, headers=hx("feedback-birth_date")))
    assert 'id="feedback-birth_date"' in page
    assert 'id="feedback-nik" aria-live="polite" hx-swap-oob="true"' in page
    assert "tidak sama dengan tanggal lahir" in page


def feedback(page: str, name: str) -> str:
    """The feedback block of one field in an answer (first occurrence)."""
    match = re.search(rf'<div class="feedback" id="feedback-{name}".*?</div>', page, re.S)
    assert match, f"no feedback-{name} in answer"
    return match.group(0)


def test_birth_date_the_nik_contradicts_is_never_called_right(client, staff):
    data = {"nik": nik_for(BIRTH, "L", serial=12), "birth_date": "1986-07-14", "sex": "L", "name": "Budi"}
    page = html(client.post("/pekerja/periksa/birth_date", data=data, headers=hx("feedback-birth_date")))
    own = feedback(page, "birth_date")
    assert "Sudah benar" not in own and "14-07-1985" in own
    agreeing = html(client.post("/pekerja/periksa/birth_date", data=dict(data, birth_date="1985-07-14"),
                                headers=hx("feedback-birth_date")))
    assert "Sudah benar" in feedback(agreeing, "birth_date")


def test_typing_the_nik_refreshes_birth_date_sex_and_kecamatan(client, staff):
    data = {"nik": nik_for(BIRTH, "P", "160307", serial=12), "birth_date": "1985-07-14", "sex": "L",
            "kecamatan": "160302"}
    page = html(client.post("/pekerja/periksa/nik", data=data, headers=hx("feedback-nik")))
    for name in ("birth_date", "sex", "kecamatan"):
        assert f'id="feedback-{name}" aria-live="polite" hx-swap-oob="true"' in page, name
    sex = feedback(page[page.index('id="feedback-sex"') - 30:], "sex")
    assert "Sudah benar" not in sex and "perempuan" in sex
    kecamatan = feedback(page[page.index('id="feedback-kecamatan"') - 30:], "kecamatan")
    assert "Lawang Kidul" in kecamatan and "Sudah benar" not in kecamatan
    assert "Sudah benar" in feedback(page[page.index('id="feedback-birth_date"') - 30:], "birth_date")


def test_live_kecamatan_check_warns_about_the_nik(client, staff):
    data = {"nik": nik_for(BIRTH, "L", "160307", serial=12), "kecamatan": "160302"}
    page = html(client.post("/pekerja/periksa/kecamatan", data=data, headers=hx("feedback-kecamatan")))
    assert "diterbitkan di Kecamatan Lawang Kidul" in feedback(page, "kecamatan")
    same = html(client.post("/pekerja/periksa/kecamatan", data=dict(data, kecamatan="160307"),
                            headers=hx("feedback-kecamatan")))
    assert "Sudah benar" in feedback(same, "kecamatan")


def test_form_page_checks_kecamatan_and_desa_live(client, staff):
    page = html(client.get("/pekerja/baru?kecamatan=160302"))
    assert 'hx-post="/pekerja/periksa/kecamatan"' in page and 'hx-post="/pekerja/periksa/desa"' in page
    assert 'id="probable-duplicates"' in page


def test_live_check_shows_a_probable_duplicate_with_a_link(client, staff):
    other = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    data = enroll_form(nik=nik_for(BIRTH, "L", serial=77), name="BUDI SANTOSO")
    page = html(client.post("/pekerja/periksa/name", data=data, headers=hx("feedback-name")))
    assert 'id="probable-duplicates" aria-live="polite" hx-swap-oob="true"' in page
    assert f'href="/pekerja/{other.id}"' in page and "Mungkin orang yang sama" in page
    assert 'name="different"' in page
    plain = html(client.post("/pekerja/periksa/phone", data=data, headers=hx("feedback-phone")))
    assert "probable-duplicates" not in plain  # other fields leave the panel (and what was ticked) alone


def test_enrolling_a_probable_duplicate_needs_orang_berbeda_with_a_reason(client, staff):
    from kiosk.models import DistinctPair

    other = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    data = enroll_form(nik=nik_for(BIRTH, "L", serial=77))
    refused = client.post("/pekerja/baru", data=data)
    assert refused.status_code == 422 and "Periksa dulu kemungkinan data ganda" in html(refused)
    assert f'href="/pekerja/{other.id}"' in html(refused)
    no_reason = client.post("/pekerja/baru", data=dict(data, different="1", different_reason=" "))
    assert no_reason.status_code == 422 and "Tulis alasannya" in html(no_reason)
    assert count(Worker) == 1 and count(DistinctPair) == 0
    saved = client.post("/pekerja/baru", data=dict(data, different="1", different_reason="Kembar"))
    assert saved.status_code == 303, html(saved)
    new = db.session.scalars(select(Worker).where(Worker.id != other.id)).one()
    pair = db.session.scalars(select(DistinctPair)).one()
    assert (pair.worker_id, pair.other_id, pair.reason, pair.decided_by_id) == (other.id, new.id, "Kembar", staff.id)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "distinct_pair")) is not None


def test_editing_shows_probable_duplicates_without_blocking(client, staff):
    other = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    mine = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=77))
    page = html(client.get(f"/pekerja/{mine.id}/ubah"))
    assert 'id="probable-duplicates"' in page
    data = enroll_form(nik=mine.nik, phone="0812 1111 2222", worker_id=str(mine.id))
    response = client.post(f"/pekerja/{mine.id}/ubah", data=data)
    assert response.status_code == 303, html(response)
    check = html(client.post("/pekerja/periksa/name", data=data, headers=hx("feedback-name")))
    assert f'href="/pekerja/{other.id}"' in check and 'name="different"' not in check
    assert "/pekerja/kemungkinan-ganda" in check


def test_probable_duplicates_page_and_orang_berbeda(client, staff):
    from kiosk.models import DistinctPair

    a = make_worker(name="Budi Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    b = make_worker(name="Budi  Santoso", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=13))
    page = html(client.get("/pekerja/kemungkinan-ganda"))
    assert "1 pasangan perlu diperiksa" in page
    assert f'href="/pekerja/{a.id}"' in page and f'href="/pekerja/{b.id}"' in page
    url = f"/pekerja/kemungkinan-ganda/{a.id}/{b.id}/berbeda"
    refused = client.post(url, data={"reason": ""})
    assert refused.status_code == 422 and "Tulis alasannya" in html(refused)
    done = client.post(url, data={"reason": "Kembar, KTP dicek"})
    assert done.status_code == 303
    assert count(DistinctPair) == 1
    assert "Tidak ada kemungkinan data ganda" in html(client.get("/pekerja/kemungkinan-ganda"))
    assert client.post(f"/pekerja/kemungkinan-ganda/{a.id}/99999/berbeda", data={"reason": "x"}).status_code == 404
    assert "kemungkinan-ganda" in html(client.get("/pekerja/"))


def test_live_income_updates_the_contribution(client, staff):
    data = {"income": "Rp2.000.000", "start": "2026-12-01", "with_coverage": "1"}
    page = html(client.post("/pekerja/periksa/income", data=data, headers=hx("feedback-income")))
    assert 'id="contribution"' in page and "Rp26.800" in page  # 20,000 + 6,800


def test_live_check_without_htmx_answers_the_whole_form(client, staff):
    response = client.post("/pekerja/periksa/nik", data={"nik": "12345"})
    assert response.status_code == 422
    assert "<html" in html(response) and "NIK harus 16 angka" in html(response)


def test_live_check_unknown_field(client, staff):
    assert client.post("/pekerja/periksa/password", headers=hx("feedback-password")).status_code == 404


def test_desa_select_reloads_for_the_kecamatan(client, staff):
    response = client.get("/pekerja/desa?kecamatan=160302", headers=hx("field-desa"))
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<div class="field" id="field-desa">')
    assert first_desa() in page and "<html" not in page
    assert {"HX-Request", "HX-Target"} <= set(map(str.strip, response.headers["Vary"].split(",")))
    plain = client.get("/pekerja/desa?kecamatan=160302")
    assert plain.status_code == 302 and "kecamatan=160302" in plain.headers["Location"]
    page = html(client.get(plain.headers["Location"]))
    assert first_desa() in page


# ---- edit ------------------------------------------------------------------------------------

def test_edit_changes_and_audits(client, staff):
    worker = make_worker(name="Budi", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    page = html(client.get(f"/pekerja/{worker.id}/ubah"))
    assert 'value="Budi"' in page
    response = client.post(f"/pekerja/{worker.id}/ubah", data=enroll_form(name="Budi Santoso", kpj="1234567890") | {"worker_id": str(worker.id)})
    assert response.status_code == 303, html(response)
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).kpj == "1234567890"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.update")).one()
    assert event.after["name"] == "Budi Santoso" and event.staff_id == staff.id
    page = html(client.get(f"/pekerja/{worker.id}"))
    assert "Riwayat perubahan" in page and "Data pekerja diubah" in page


def test_edit_refused_changes_nothing(client, staff):
    worker = make_worker(name="Budi", birth_date=BIRTH, nik=nik_for(BIRTH, "L", serial=12))
    response = client.post(f"/pekerja/{worker.id}/ubah", data=enroll_form(name="Budi Baru", phone="123"))
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).name == "Budi"
    assert count(AuditEvent) == 0


# ---- worker page -----------------------------------------------------------------------------

def test_worker_page_shows_full_nik_only_there(client, staff):
    worker = make_worker(name="Budi Santoso")
    page = html(client.get(f"/pekerja/{worker.id}"))
    grouped = " ".join(worker.nik[i:i + 4] for i in range(0, 16, 4))
    assert grouped in page
    listing = html(client.get("/pekerja/"))
    assert "Budi Santoso" in listing
    assert worker.nik not in listing and grouped not in listing


def test_worker_page_lists_cards_and_collections(client, staff):
    worker = make_worker()
    make_coverage(worker)
    card, _token = make_card(worker)
    page = html(client.get(f"/pekerja/{worker.id}"))
    # the cards area's panel when it exists, else the plain list
    assert 'id="worker-cards"' in page or card.fallback_code in page
    assert "erlaku" in page  # "Berlaku" / "Kartu berlaku"
    assert "Belum pernah mengambil sembako" in page
    assert "tidak bisa dihapus" in page


def test_photo_endpoint_404_without_photo(client, staff):
    worker = make_worker()
    assert client.get(f"/pekerja/{worker.id}/foto").status_code == 404
    assert client.get("/pekerja/999/foto").status_code == 404


def test_replace_photo_plain_and_htmx(client, staff):
    worker = make_worker()
    response = client.post(f"/pekerja/{worker.id}/foto", data={"photo_file": (io.BytesIO(jpeg()), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.expire_all()
    first = db.session.get(Worker, worker.id).photo
    assert first
    response = client.post(f"/pekerja/{worker.id}/foto", data={"photo_file": (io.BytesIO(jpeg()), "b.jpg")},
                           content_type="multipart/form-data", headers=hx("photo-panel"))
    assert response.status_code == 200
    assert html(response).lstrip().startswith('<section class="card photo-panel" id="photo-panel"')
    db.session.expire_all()
    assert db.session.get(Worker, worker.id).photo not in (None, first)
    from kiosk.photos import load

    assert load(first) is None  # the old photo went
    bad = client.post(f"/pekerja/{worker.id}/foto", data={"photo_file": (io.BytesIO(b"GIF89a"), "c.gif")},
                      content_type="multipart/form-data", headers=hx("photo-panel"))
    assert bad.status_code == 422 and "bukan foto" in html(bad)


# ---- coverage status at the Jakarta midnight ---------------------------------------------------

JAKARTA_MIDNIGHT_UTC = timedelta(hours=-7)  # 00:00 WIB is 17:00 UTC the day before


@pytest.mark.parametrize(
    ("utc_moment", "expected"),
    [
        (datetime(2026, 3, 31, 16, 59, tzinfo=timezone.utc), "Belum aktif"),  # 23:59 WIB, 31 Mar
        (datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc), "Aktif"),  # 00:00 WIB, 1 Apr: first day
        (datetime(2026, 6, 30, 16, 59, tzinfo=timezone.utc), "hari terakhir"),  # 23:59 WIB, 30 Jun: last day
        (datetime(2026, 6, 30, 17, 0, tzinfo=timezone.utc), "Berakhir"),  # 00:00 WIB, 1 Jul: day after
    ],
)
def test_status_on_the_worker_page_across_jakarta_midnight(client, staff, monkeypatch, utc_moment, expected):
    import kiosk.coverage

    real = kiosk.coverage.today_jakarta
    monkeypatch.setattr(kiosk.coverage, "today_jakarta", lambda now=None: real(now or utc_moment))
    worker = make_worker()
    make_coverage(worker, start=date(2026, 4, 1), end=date(2026, 6, 30))
    panel = re.search(r'<p class="status-today">(.*?)</p>', html(client.get(f"/pekerja/{worker.id}")), re.S).group(1)
    assert expected in panel
    if expected == "Aktif":
        assert "90 hari lagi" in panel and "badge-ok" in panel
    listing = html(client.get("/pekerja/?status=aktif"))
    assert (worker.name in listing) == (expected in ("Aktif", "hari terakhir"))


# ---- coverage panel --------------------------------------------------------------------------

def test_add_coverage_plain_and_htmx(client, staff):
    worker = make_worker()
    response = client.post(f"/pekerja/{worker.id}/cakupan", data={"start": "2026-01-01"})
    assert response.status_code == 303
    response = client.post(f"/pekerja/{worker.id}/cakupan", data={"start": "2026-04-01", "jht": "1"},
                           headers=hx("coverage-panel"))
    assert response.status_code == 200
    page = html(response)
    assert page.lstrip().startswith('<section class="card coverage-panel" id="coverage-panel"')
    assert "JKK + JKM + JHT" in page
    assert {"HX-Request", "HX-Target"} <= set(map(str.strip, response.headers["Vary"].split(",")))
    assert count(Coverage) == 2


def test_overlapping_coverage_refused_in_the_panel(client, staff):
    worker = make_worker()
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    before = (count(Coverage), count(AuditEvent))
    response = client.post(f"/pekerja/{worker.id}/cakupan", data={"start": "2026-03-01"}, headers=hx("coverage-panel"))
    assert response.status_code == 422
    assert "bertumpang tindih" in html(response) and "<html" not in html(response)
    plain = client.post(f"/pekerja/{worker.id}/cakupan", data={"start": "2026-03-01"})
    assert plain.status_code == 422 and "<html" in html(plain) and "bertumpang tindih" in html(plain)
    assert (count(Coverage), count(AuditEvent)) == before


def test_renew_button_plain_and_htmx(client, staff):
    worker = make_worker()
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    response = client.post(f"/pekerja/{worker.id}/perpanjang", headers=hx("coverage-panel"))
    assert response.status_code == 200 and 'id="coverage-panel"' in html(response)
    response = client.post(f"/pekerja/{worker.id}/perpanjang")
    assert response.status_code == 303
    ends = sorted(db.session.scalars(select(Coverage.end_date).where(Coverage.worker_id == worker.id)))
    assert len(ends) == 3 and ends[0] == date(2026, 3, 31)


def test_renew_without_period_says_so(client, staff):
    worker = make_worker()
    response = client.post(f"/pekerja/{worker.id}/perpanjang", headers=hx("coverage-panel"))
    assert response.status_code == 422 and "belum punya periode" in html(response)


# ---- bulk renewal ----------------------------------------------------------------------------

def test_bulk_renewal_preview_then_confirm(client, staff):
    due = [make_worker(name=f"Segera {i}") for i in range(2)]
    for w in due:
        make_coverage(w, start=date(2026, 1, 1), end=date(2026, 3, 31))
    later = make_worker(name="Masih Lama")
    make_coverage(later, start=date(2026, 3, 1), end=date(2030, 5, 31))
    before = count(Coverage)
    page = html(client.get("/pekerja/perpanjang?sebelum=2026-04-15"))
    assert "2 pekerja akan diperpanjang" in page
    assert "Segera 0" in page and "Masih Lama" not in page
    assert count(Coverage) == before
    response = client.post("/pekerja/perpanjang", data={"sebelum": "2026-04-15"})
    assert response.status_code == 303
    assert count(Coverage) == before + 2
    page = html(client.get(response.headers["Location"]))
    assert "2 pekerja diperpanjang" in page and "0 pekerja akan diperpanjang" in page


def test_bulk_renewal_bad_date(client, staff):
    response = client.get("/pekerja/perpanjang?sebelum=besok")
    assert response.status_code == 422 and "Tulis tanggal sebagai hh/bb/tttt" in html(response)


# ---- delete ----------------------------------------------------------------------------------

def test_delete_worker_without_card(client, staff):
    worker = make_worker(name="Salah Daftar")
    make_coverage(worker)
    response = client.post(f"/pekerja/{worker.id}/hapus")
    assert response.status_code == 303
    assert count(Worker) == 0 and count(Coverage) == 0
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.delete")).one().staff_id == staff.id


def test_delete_refused_with_card(client, staff):
    worker = make_worker()
    make_card(worker)
    response = client.post(f"/pekerja/{worker.id}/hapus")
    assert response.status_code == 303
    assert count(Worker) == 1
    assert "tidak bisa dihapus" in html(client.get(response.headers["Location"]))


# ---- list ------------------------------------------------------------------------------------

def test_list_search_plain_and_htmx(client, staff):
    a = make_worker(name="Ahmad Fauzi", desa_name="Tanjung Raja")
    b = make_worker(name="Siti Aminah", kpj="99887766")
    make_worker(name="Joko Widodo")
    plain = client.get("/pekerja/?q=ahmad")
    assert plain.status_code == 200 and "<html" in html(plain) and "Ahmad Fauzi" in html(plain)
    assert "HX-Target" in plain.headers["Vary"]
    frag = client.get("/pekerja/?q=ahmad", headers=hx("worker-results"))
    page = html(frag)
    assert page.lstrip().startswith('<section id="worker-results"') and "<html" not in page
    assert "Ahmad Fauzi" in page and "Siti Aminah" not in page
    boosted = client.get("/pekerja/?q=ahmad", headers=hx("main") | {"HX-Boosted": "true"})
    assert "<html" in html(boosted)
    assert "Ahmad Fauzi" in html(client.get("/pekerja/?q=tanjung", headers=hx("worker-results")))
    by_nik = html(client.get(f"/pekerja/?q={a.nik[:10]}", headers=hx("worker-results")))
    assert "Ahmad Fauzi" in by_nik and "Joko Widodo" not in by_nik
    dashed = f"{a.nik[:4]}-{a.nik[4:8]}-{a.nik[8:10]}"  # as written on a form, or with a phone's wide digits
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in a.nik[:10])
    for typed in (dashed, wide):
        found = html(client.get("/pekerja/", query_string={"q": typed}, headers=hx("worker-results")))
        assert "Ahmad Fauzi" in found and "Joko Widodo" not in found, typed
    by_kpj = html(client.get("/pekerja/?q=998877", headers=hx("worker-results")))
    assert "Siti Aminah" in by_kpj and "Ahmad Fauzi" not in by_kpj
    none = html(client.get("/pekerja/?q=zzz", headers=hx("worker-results")))
    assert "Tidak ada pekerja yang cocok" in none
    wildcard = html(client.get("/pekerja/?q=%25", headers=hx("worker-results")))
    assert "Tidak ada pekerja yang cocok" in wildcard  # "%" is a character, not a wildcard
    assert b.name not in wildcard


def test_list_filters(client, staff):
    carded = make_worker(name="Punya Kartu", kecamatan="160301")
    make_card(carded)
    collected = make_worker(name="Sudah Ambil")
    plain = make_worker(name="Biasa Saja")
    make_coverage(plain, start=date(2020, 1, 1), end=date(2020, 3, 31))
    distribution = make_distribution()
    from kiosk.models import Collection

    db.session.add(Collection(distribution_id=distribution.id, worker_id=collected.id, seq=1))
    db.session.commit()

    def names(query):
        return set(re.findall(r'<a (?:class="stretched" )?href="/pekerja/\d+">([^<]+)</a>', html(client.get("/pekerja/?" + query, headers=hx("worker-results")))))

    assert names("kartu=ya") == {"Punya Kartu"}
    assert "Punya Kartu" not in names("kartu=tidak")
    assert names("kecamatan=160301") == {"Punya Kartu"}
    assert names(f"penyaluran={distribution.id}") == {"Sudah Ambil"}
    assert names("status=berakhir") == {"Biasa Saja"}
    assert names("status=tanpa") == {"Punya Kartu", "Sudah Ambil"}


def test_list_keyset_paging(client, staff):
    from kiosk.workers.listing import PAGE_SIZE

    for i in range(PAGE_SIZE + 5):
        db.session.add(Worker(nik=f"1603020101900{i:03d}", name=f"Pekerja {i:03d}", sex="L",
                              birth_date=date(1990, 1, 1), kecamatan_code="160302"))
    db.session.commit()
    first = html(client.get("/pekerja/", headers=hx("worker-results")))
    assert "Pekerja 000" in first and f"Pekerja {PAGE_SIZE - 1:03d}" in first
    assert f"Pekerja {PAGE_SIZE:03d}" not in first
    next_url = re.search(r'href="(/pekerja/\?[^"]*setelah=\d+[^"]*)"', first).group(1).replace("&amp;", "&")
    second = html(client.get(next_url, headers=hx("worker-results")))
    assert f"Pekerja {PAGE_SIZE:03d}" in second and "Pekerja 000" not in second
    assert "setelah=" not in second.split("Kembali ke awal")[-1]  # last page: no next link


def test_boosted_navigation_and_history_restore_get_whole_pages_with_the_camera_script(client, staff):
    worker = make_worker()
    for path in ("/pekerja/baru", f"/pekerja/{worker.id}", f"/pekerja/{worker.id}/ubah"):
        response = client.get(path, headers=hx("main") | {"HX-Boosted": "true"})
        assert response.status_code == 200 and "HX-Redirect" not in response.headers
        assert "<html" in html(response) and "js/workers." in html(response)
    restored = client.get("/pekerja/?q=x", headers=hx("worker-results") | {"HX-History-Restore-Request": "true"})
    assert "<html" in html(restored)
    assert {"HX-Request", "HX-Target", "HX-Boosted", "HX-History-Restore-Request"} <= set(restored.vary)


