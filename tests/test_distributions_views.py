"""Distribution pages: access, create/edit, the recipient list, open/close, the live page and
its polled fragment, "not collected yet", voiding, and the pickup desk (scan, search, handover,
retry, proxy, handover photo)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from factories import covered_worker, make_card, make_distribution, make_worker
from kiosk import card_registry
from kiosk import distribution as dist
from kiosk.extensions import db
from kiosk.models import Collection, Distribution, DistributionListEntry
from kiosk.nik import format_nik

HX = {"HX-Request": "true"}


def hx(target: str) -> dict:
    return {**HX, "HX-Target": target}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def request_id_in(html: str) -> str:
    return re.search(r'name="request_id"[^>]*value="([^"]+)"', html).group(1)


def assert_fragment(response, root_id: str):
    body = text_of(response)
    assert response.status_code == 200, body[:500]
    assert "<html" not in body and f'id="{root_id}"' in body
    assert "HX-Target" in response.headers["Vary"]
    return body


def assert_page(response):
    body = text_of(response)
    assert response.status_code == 200, body[:500]
    assert "<html" in body
    assert "HX-Target" in response.headers["Vary"]
    return body


# ---- access -----------------------------------------------------------------------------------

STAFF_GETS = ["/penyaluran/", "/penyaluran/baru", "/penyaluran/{d}", "/penyaluran/{d}/ubah",
              "/penyaluran/{d}/belum-ambil", "/penyaluran/{d}/daftar", "/penyaluran/{d}/meja"]
ADMIN_POSTS = ["/penyaluran/{d}/buka", "/penyaluran/{d}/tutup"]


@pytest.mark.parametrize("path", STAFF_GETS)
def test_anonymous_is_sent_to_sign_in(app, client, path):
    d = make_distribution()
    response = client.get(path.format(d=d.id))
    assert response.status_code == 302 and "/masuk" in response.headers["Location"]


@pytest.mark.parametrize("path", STAFF_GETS)
def test_petugas_may_open_staff_pages(app, client, login_as, path):
    d = make_distribution()
    login_as("petugas")
    assert client.get(path.format(d=d.id)).status_code == 200


@pytest.mark.parametrize("path", ADMIN_POSTS)
def test_petugas_may_not_open_or_close(app, client, login_as, path):
    d = make_distribution(status="draft")
    login_as("petugas")
    assert client.post(path.format(d=d.id)).status_code == 403
    assert db.session.get(Distribution, d.id).status == "draft"


def test_petugas_may_not_void(app, client, login_as):
    d = make_distribution()
    result = dist.claim(d.id, covered_worker().id, request_id="r1")
    login_as("petugas")
    assert client.get(f"/penyaluran/pengambilan/{result.collection_id}/batal").status_code == 403
    assert client.post(f"/penyaluran/pengambilan/{result.collection_id}/batal", data={"reason": "x"}).status_code == 403
    assert db.session.get(Collection, result.collection_id).voided_at is None


def test_post_without_csrf_is_refused(app, client, login_as):
    d = make_distribution(status="draft")
    login_as("admin")
    assert client.post(f"/penyaluran/{d.id}/buka", csrf=False).status_code == 400


# ---- create, edit, open, close ----------------------------------------------------------------

FORM = {"name": "Penyaluran Tahap II", "day": "2026-12-01", "place": "Aula Disnaker", "packages_total": "100",
        "contents": "Beras 10 kg", "eligibility": "coverage", "bast_number": "027/BAST/2026",
        "official_name": "Drs. H. Ahmad", "official_nip": "19700101 199003 1 001", "official_title": "Kepala Dinas",
        "receiver_name": "", "receiver_title": "", "witness1_name": "Sri", "witness2_name": ""}


def test_create_edit_open_close(app, client, login_as):
    login_as("admin")
    response = client.post("/penyaluran/baru", data=FORM)
    assert response.status_code == 302
    d = db.session.scalar(select(Distribution))
    assert (d.name, d.day, d.packages_total, d.status, d.official_nip) == (
        "Penyaluran Tahap II", date(2026, 12, 1), 100, "draft", "19700101 199003 1 001")
    page = assert_page(client.get(f"/penyaluran/{d.id}"))
    assert "Penyaluran Tahap II" in page and "Buka penyaluran" in page
    assert client.post(f"/penyaluran/{d.id}/ubah", data={**FORM, "packages_total": "80"}).status_code == 302
    assert db.session.get(Distribution, d.id).packages_total == 80
    assert client.post(f"/penyaluran/{d.id}/buka").status_code == 302
    assert db.session.get(Distribution, d.id).status == "open"
    assert client.post(f"/penyaluran/{d.id}/tutup").status_code == 302
    closed = db.session.get(Distribution, d.id)
    assert closed.status == "closed" and closed.frozen_report["packages_total"] == 80


def test_create_with_errors_is_422(app, client, login_as):
    login_as("petugas")
    response = client.post("/penyaluran/baru", data={**FORM, "name": "", "packages_total": "-1"})
    assert response.status_code == 422
    body = text_of(response)
    assert "Isi nama penyaluran." in body and "Jumlah paket antara 0 dan 100.000." in body
    assert db.session.scalar(select(Distribution)) is None


def test_edit_cannot_go_below_packages_given(app, client, login_as):
    d = make_distribution(packages=5)
    dist.claim(d.id, covered_worker().id, request_id="a")
    dist.claim(d.id, covered_worker().id, request_id="b")
    login_as("admin")  # an open distribution's terms are an admin's (below)
    response = client.post(f"/penyaluran/{d.id}/ubah", data={**FORM, "day": d.day.isoformat(), "packages_total": "1"})
    assert response.status_code == 422 and "sudah diserahkan (2)" in text_of(response)
    assert db.session.get(Distribution, d.id).packages_total == 5


def _terms_of(d: Distribution) -> dict:
    db.session.expire_all()
    fresh = db.session.get(Distribution, d.id)
    return {name: getattr(fresh, name) for name in dist.TERMS}


BAST_ONLY = {"bast_number": "031/BAST/XII/2026", "official_name": "Drs. H. Ahmad Syukri"}


@pytest.mark.parametrize(("status", "role", "terms_change"), [
    ("draft", "petugas", True), ("open", "petugas", False), ("open", "admin", True),
    ("closed", "petugas", False), ("closed", "admin", False),
])
def test_a_distributions_terms_change_only_while_they_may(app, client, login_as, status, role, terms_change):
    """The terms (what the distribution is: ``dist.TERMS``) are anyone's in a draft, an admin's
    while open, nobody's once closed (the BAST reports them); the BAST's number and names are
    every staff member's in every state. A refused change says why and changes nothing."""
    d = make_distribution(packages=5, status=status)
    before = _terms_of(d)
    login_as(role)
    page = text_of(client.get(f"/penyaluran/{d.id}/ubah"))
    changed = {**FORM, "day": d.day.strftime("%d/%m/%Y"), "name": "Diubah", "packages_total": "3", "place": "Balai Desa"}
    response = client.post(f"/penyaluran/{d.id}/ubah", data=changed)
    if terms_change:
        assert 'name="name" type="text"' in page or 'id="name"' in page  # the terms are fields to fill in
        assert response.status_code == 302
        assert _terms_of(d)["name"] == "Diubah" and _terms_of(d)["packages_total"] == 3
        return
    assert ("sudah ditutup" if status == "closed" else "hanya bisa diubah admin") in page
    assert response.status_code == 422
    answer = text_of(response)
    assert ("sudah ditutup" if status == "closed" else "hanya bisa diubah admin") in answer
    assert _terms_of(d) == before
    # The form as the page shows it (the terms sent back as they are) saves the BAST fields.
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    assert set(dist.TERMS) <= set(hidden), hidden
    response = client.post(f"/penyaluran/{d.id}/ubah", data={**FORM, **hidden, **BAST_ONLY})
    assert response.status_code == 302, text_of(response)[-1500:]
    fresh = db.session.get(Distribution, d.id)
    assert (fresh.bast_number, fresh.official_name) == (BAST_ONLY["bast_number"], BAST_ONLY["official_name"])
    assert _terms_of(d) == before


# ---- live page --------------------------------------------------------------------------------


def test_live_page_and_its_polled_fragment(app, client, login_as):
    d = make_distribution(packages=10)
    worker = covered_worker(name="Ani Lestari")
    dist.claim(d.id, worker.id, request_id="x", station="Kiosk Aula 1")
    login_as("petugas")
    page = assert_page(client.get(f"/penyaluran/{d.id}"))
    assert 'id="distribution-live"' in page and "Ani Lestari" in page and "Paket ke-1" in page
    assert 'hx-trigger="every 3s"' in page
    fragment = assert_fragment(client.get(f"/penyaluran/{d.id}", headers=hx("distribution-live")), "distribution-live")
    # Claimed at a kiosk, not handed over yet: claimed 1, handed over 0, left 9.
    assert 'data-figure="claimed">1<' in fragment and 'data-figure="given">0<' in fragment
    assert 'data-figure="waiting-handover">1<' in fragment and 'data-figure="left">9<' in fragment
    assert "Kiosk Aula 1" in fragment and worker.nik not in fragment and "belum diserahkan" in fragment
    # Boosted navigation gets the page, never the bare fragment.
    boosted = client.get(f"/penyaluran/{d.id}", headers={**hx("main"), "HX-Boosted": "true"})
    assert "<html" in text_of(boosted)


def test_polling_stops_once_closed(app, client, login_as):
    d = make_distribution(status="closed")
    login_as("petugas")
    fragment = assert_fragment(client.get(f"/penyaluran/{d.id}", headers=hx("distribution-live")), "distribution-live")
    assert "hx-trigger" not in fragment


def test_not_collected_lists_phones(app, client, login_as):
    d = make_distribution()
    waiting = covered_worker(name="Belum Datang", phone="081234567890")
    done = covered_worker(name="Sudah Datang")
    dist.claim(d.id, done.id, request_id="q")
    login_as("petugas")
    body = text_of(client.get(f"/penyaluran/{d.id}/belum-ambil"))
    assert "Belum Datang" in body and "Sudah Datang" not in body
    assert 'href="tel:081234567890"' in body and waiting.nik not in body


# ---- recipient list ---------------------------------------------------------------------------


def test_recipient_list_paste_search_remove(app, client, login_as):
    d = make_distribution(eligibility="list")
    a, b = make_worker(name="Citra Dewi"), make_worker(name="Dodi")
    login_as("petugas")
    response = client.post(f"/penyaluran/{d.id}/daftar", data={"niks": f"{a.nik}\n1603999999999999"})
    assert response.status_code == 200
    body = text_of(response)
    assert "1603999999999999" in body and "tidak ditemukan" in body
    found = text_of(client.get(f"/penyaluran/{d.id}/daftar?q=dodi"))
    assert "Dodi" in found
    by_nik = text_of(client.get(f"/penyaluran/{d.id}/daftar", query_string={"q": f"{b.nik[:4]}-{b.nik[4:8]}"}))
    assert "Dodi" in by_nik
    for wildcard in ("%%", "__"):  # a typed % or _ is itself, not "anything"
        assert "Dodi" not in text_of(client.get(f"/penyaluran/{d.id}/daftar", query_string={"q": wildcard}))
    assert client.post(f"/penyaluran/{d.id}/daftar/tambah", data={"worker_id": [str(b.id)]}).status_code == 302
    listed = set(db.session.scalars(select(DistributionListEntry.worker_id)))
    assert listed == {a.id, b.id}
    assert client.post(f"/penyaluran/{d.id}/daftar/{a.id}/hapus").status_code == 302
    assert set(db.session.scalars(select(DistributionListEntry.worker_id))) == {b.id}


def test_paste_nothing_is_422(app, client, login_as):
    d = make_distribution(eligibility="list")
    login_as("petugas")
    assert client.post(f"/penyaluran/{d.id}/daftar", data={"niks": ""}).status_code == 422


# ---- void ---------------------------------------------------------------------------------------


def test_void_by_admin(app, client, login_as):
    d = make_distribution(packages=3)
    result = dist.claim(d.id, covered_worker(name="Eko").id, request_id="v")
    login_as("admin")
    page = text_of(client.get(f"/penyaluran/pengambilan/{result.collection_id}/batal"))
    assert "Eko" in page and "data-confirm" in page
    assert client.post(f"/penyaluran/pengambilan/{result.collection_id}/batal", data={"reason": ""}).status_code == 422
    response = client.post(f"/penyaluran/pengambilan/{result.collection_id}/batal", data={"reason": "salah orang"})
    assert response.status_code == 302
    row = db.session.get(Collection, result.collection_id)
    assert row.void_reason == "salah orang" and db.session.get(Distribution, d.id).packages_given == 0
    again = client.post(f"/penyaluran/pengambilan/{result.collection_id}/batal", data={"reason": "lagi"})
    assert again.status_code == 422 and "Sudah dibatalkan" in text_of(again)


# ---- the desk -----------------------------------------------------------------------------------


def test_desk_page_has_the_scanner(app, client, login_as):
    d = make_distribution()
    login_as("petugas")
    page = assert_page(client.get(f"/penyaluran/{d.id}/meja"))
    assert "data-scanner-video" in page and "data-scan-form" in page and 'data-scan-input' in page
    assert "js/scanner." in page and 'id="desk-result"' in page and 'id="desk-counter"' in page
    assert "<script>" not in page and 'style="' not in page


@pytest.mark.parametrize("htmx", [False, True])
def test_scan_handover_retry_and_scan_again(app, client, login_as, htmx):
    d = make_distribution(packages=100)
    worker = covered_worker(name="Fajar Nugroho")
    card, token = make_card(worker)
    login_as("petugas")
    headers = hx("desk-result") if htmx else {}
    check = assert_fragment if htmx else (lambda r, _id: assert_page(r))

    shown = check(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token}, headers=headers), "desk-result")
    assert "Fajar Nugroho" in shown and "Serahkan paket" in shown and 'data-outcome="eligible"' in shown
    assert "Dengan kartu" in shown and format_nik(worker.nik) in shown  # staff see the whole NIK
    form = {"worker_id": str(worker.id), "card_id": str(card.id), "request_id": request_id_in(shown)}

    response = client.post(f"/penyaluran/{d.id}/meja/serahkan", data=form, headers=headers)
    done = check(response, "desk-result")
    assert "Paket ke-1 dari 100" in done and 'data-outcome="collected"' in done and "data-replayed" not in done
    assert response.headers.get("HX-Trigger") == "distribution-changed"
    row = db.session.scalar(select(Collection))
    assert row.card_id == card.id and row.station.startswith("Meja petugas")

    # A double tap sends the same request id: the same answer, not "already collected".
    again = check(client.post(f"/penyaluran/{d.id}/meja/serahkan", data=form, headers=headers), "desk-result")
    assert "Paket ke-1 dari 100" in again and "data-replayed" in again

    rescan = check(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token}, headers=headers), "desk-result")
    assert "Sudah diambil pada" in rescan and 'data-outcome="already_collected"' in rescan
    assert "Serahkan paket</button>" not in rescan
    assert db.session.get(Distribution, d.id).packages_given == 1


def test_counter_fragment(app, client, login_as):
    d = make_distribution(packages=7)
    dist.claim(d.id, covered_worker().id, request_id="c")
    staff = login_as("petugas")
    handed = dist.claim(d.id, covered_worker().id, request_id="d")
    dist.hand_over(handed.collection_id, staff=staff, request_id="e")
    body = assert_fragment(client.get(f"/penyaluran/{d.id}/meja", headers=hx("desk-counter")), "desk-counter")
    assert "1 dari 7 paket diserahkan" in body and "1 menunggu diserahkan" in body and "sisa 5" in body


def test_unknown_card_and_empty_scan(app, client, login_as):
    d = make_distribution()
    login_as("petugas")
    body = assert_fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": "ZZZZ-ZZZZ-ZZ"},
                                       headers=hx("desk-result")), "desk-result")
    assert re.search(r'data-outcome="(malformed|unknown_card)"', body) and "Kartu tidak" in body
    empty = client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": ""}, headers=hx("desk-result"))
    assert empty.status_code == 422 and "Pindai kartu atau ketik kodenya." in text_of(empty)


def test_revoked_card_shows_the_worker_and_the_reason(app, client, login_as):
    d = make_distribution()
    worker = covered_worker(name="Gita")
    card, token = make_card(worker)
    card_registry.revoke(card, staff=None, reason="hilang")
    login_as("petugas")
    body = assert_fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token},
                                       headers=hx("desk-result")), "desk-result")
    # Not "go to the desk": the desk's own action, on its own word, with the reason filled in.
    assert "Gita" in body and "data-card-note" in body and "sudah dicabut" in body
    assert 'data-outcome="eligible"' in body and "Serahkan paket</button>" in body
    assert 'value="kartu sudah dicabut"' in body and 'name="card_id" type="hidden" value=""' in body
    assert "ke meja" not in body


@pytest.mark.parametrize("outcome, setup, words", [
    ("no_coverage", lambda d: make_worker(), "Tidak ada kepesertaan"),
    ("not_on_list", lambda d: covered_worker(), "tidak ada dalam daftar"),
    ("not_open", lambda d: covered_worker(), "tidak dibuka"),
    ("sold_out", lambda d: covered_worker(), "habis"),
])
def test_desk_says_every_refusal_in_words(app, client, login_as, outcome, setup, words):
    fields = {"eligibility": "list"} if outcome == "not_on_list" else {}
    d = make_distribution(packages=0 if outcome == "sold_out" else 5,
                          status="draft" if outcome == "not_open" else "open", **fields)
    worker = setup(d)
    login_as("petugas")
    body = assert_fragment(client.get(f"/penyaluran/{d.id}/meja/pekerja/{worker.id}", headers=hx("desk-result")), "desk-result")
    assert f'data-outcome="{outcome}"' in body and words in body and 'role="alert"' in body


def test_lost_card_search_and_handover_with_proxy_and_photo(app, client, login_as):
    d = make_distribution(packages=10)
    worker = covered_worker(name="Hendra Wijaya")
    staff = login_as("petugas")
    results = assert_fragment(client.get(f"/penyaluran/{d.id}/meja?q=hendra", headers=hx("desk-result")), "desk-result")
    assert "Hendra Wijaya" in results and f"/meja/pekerja/{worker.id}" in results
    by_nik = assert_fragment(client.get(f"/penyaluran/{d.id}/meja?q={worker.nik[:10]}", headers=hx("desk-result")), "desk-result")
    assert "Hendra Wijaya" in by_nik
    shown = assert_fragment(client.get(f"/penyaluran/{d.id}/meja/pekerja/{worker.id}", headers=hx("desk-result")), "desk-result")
    assert "Tanpa kartu" in shown and "Serahkan paket" in shown
    image = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(image, "JPEG")
    image.seek(0)
    response = client.post(
        f"/penyaluran/{d.id}/meja/serahkan",
        data={"worker_id": str(worker.id), "card_id": "", "request_id": request_id_in(shown),
              "proxy_name": "Siti", "proxy_relation": "istri", "handover_photo": (image, "serah.jpg")},
        headers=hx("desk-result"), content_type="multipart/form-data",
    )
    body = assert_fragment(response, "desk-result")
    assert "Paket ke-1 dari 10" in body and "Diwakilkan: Siti (istri)" in body
    row = db.session.scalar(select(Collection))
    assert row.card_id is None and row.staff_id == staff.id and row.proxy_name == "Siti"
    assert row.handover_photo
    photo = client.get(f"/penyaluran/pengambilan/{row.id}/foto")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    photo.close()
    live = text_of(client.get(f"/penyaluran/{d.id}", headers=hx("distribution-live")))
    assert f"/penyaluran/pengambilan/{row.id}/foto" in live


def test_bad_handover_photo_is_refused_without_claiming(app, client, login_as):
    d = make_distribution()
    worker = covered_worker()
    login_as("petugas")
    shown = text_of(client.get(f"/penyaluran/{d.id}/meja/pekerja/{worker.id}", headers=hx("desk-result")))
    response = client.post(
        f"/penyaluran/{d.id}/meja/serahkan",
        data={"worker_id": str(worker.id), "request_id": request_id_in(shown),
              "handover_photo": (io.BytesIO(b"not an image"), "x.jpg")},
        headers=hx("desk-result"), content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "bukan foto" in text_of(response)
    assert db.session.scalar(select(Collection)) is None


def test_tampered_handover_form_is_400(app, client, login_as):
    d = make_distribution()
    login_as("petugas")
    response = client.post(f"/penyaluran/{d.id}/meja/serahkan", data={"worker_id": "abc", "request_id": "x"})
    assert response.status_code == 400


def test_search_and_pick_without_javascript(app, client, login_as):
    """The lost-card path as plain pages: the search answers the desk page, the pick too."""
    d = make_distribution()
    worker = covered_worker(name="Indah Permata")
    login_as("petugas")
    page = assert_page(client.get(f"/penyaluran/{d.id}/meja?q=indah"))
    assert 'id="desk-result"' in page and "Indah Permata" in page and 'id="desk-counter"' in page
    picked = assert_page(client.get(f"/penyaluran/{d.id}/meja/pekerja/{worker.id}"))
    assert 'data-outcome="eligible"' in picked and "Tanpa kartu" in picked
    assert client.get(f"/penyaluran/{d.id}/meja/pekerja/999999").status_code == 404
