"""Card pages: the worker's cards panel (issue, reissue, revoke; plain and htmx), the card PNG and
PDF, the batch-print page, and who may use them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from factories import make_card, make_distribution, make_worker, valid_cards
from kiosk import card_registry
from kiosk.extensions import db
from kiosk.models import AuditEvent, Card, DistributionListEntry
from kiosk.tokens import Refusal

PANEL = {"HX-Request": "true", "HX-Target": "worker-cards"}


def _assert_panel(response):
    html = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/html")
    assert html.lstrip().startswith('<section id="worker-cards"')
    assert "<html" not in html and "<body" not in html
    assert {"HX-Request", "HX-Target"} <= set(response.vary)
    return html


# ---- access ---------------------------------------------------------------------------------

def _routes(worker_id: int, card_id: int):
    return [
        ("get", "/kartu/"),
        ("get", f"/kartu/pekerja/{worker_id}"),
        ("get", f"/kartu/{card_id}.png"),
        ("get", f"/kartu/{card_id}.pdf"),
        ("get", "/kartu/lembar.pdf?pilihan=semua"),
        ("post", f"/kartu/pekerja/{worker_id}/terbitkan"),
        ("post", f"/kartu/{card_id}/ganti"),
        ("post", f"/kartu/{card_id}/cabut"),
        ("post", "/kartu/terbitkan"),
    ]


def test_anonymous_is_sent_to_sign_in_and_changes_nothing(app, client):
    worker = make_worker()
    card, token = make_card(worker)
    for method, url in _routes(worker.id, card.id):
        response = getattr(client, method)(url, data={"reason": "hilang", "tanggal": "2026-01-01"})
        assert response.status_code == 302, url
        assert "/masuk" in response.headers["Location"], url
        htmx_response = getattr(client, method)(url, headers=PANEL, data={"reason": "hilang"})
        assert htmx_response.status_code == 401 and "HX-Redirect" in htmx_response.headers, url
    assert card_registry.resolve(token).ok
    assert db.session.scalar(select(db.func.count(Card.id))) == 1


@pytest.mark.parametrize("role", ["petugas", "admin"])
def test_staff_of_either_role_may_open_the_card_pages(app, client, login_as, role):
    login_as(role)
    worker = make_worker()
    card, _ = make_card(worker)
    for method, url in _routes(worker.id, card.id)[:5]:
        assert client.get(url).status_code == 200, url


def test_post_without_csrf_is_refused(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    response = client.post(f"/kartu/pekerja/{worker.id}/terbitkan", csrf=False)
    assert response.status_code == 400
    assert valid_cards(worker) == []


# ---- issue / reissue / revoke ---------------------------------------------------------------

def test_issue_plain_redirects_to_the_worker_page_with_a_message(app, client, login_as):
    staff = login_as("petugas")
    worker = make_worker(name="Rahmat Hidayat")
    response = client.post(f"/kartu/pekerja/{worker.id}/terbitkan")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/pekerja/{worker.id}")
    (card,) = valid_cards(worker)
    assert card.issued_by_id == staff.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Kartu diterbitkan" in page
    assert f"/kartu/{card.id}.png" in page and f"/kartu/{card.id}.pdf" in page
    code = card.fallback_code
    assert f"{code[:4]} {code[4:8]} {code[8:]}" in page


def test_issue_htmx_returns_the_panel(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    response = client.post(f"/kartu/pekerja/{worker.id}/terbitkan", headers=PANEL)
    assert response.status_code == 200
    html = _assert_panel(response)
    (card,) = valid_cards(worker)
    assert "Kartu diterbitkan" in html and f"/kartu/{card.id}.png" in html
    # Every action in the panel is a real form that works without JavaScript, with a confirmation.
    assert f'action="/kartu/{card.id}/ganti"' in html and f'action="/kartu/{card.id}/cabut"' in html
    assert html.count("data-confirm=") == 2
    assert f'href="/kartu/{card.id}.png"' in html and f'href="/kartu/{card.id}.pdf"' in html  # both downloads
    # the rest of the worker page (history, delete button) is told to fetch itself again
    assert response.headers["HX-Trigger"] == "worker-card-changed"


def test_issuing_asks_in_the_page_not_with_the_browsers_confirm(app, client, login_as):
    login_as("petugas")
    worker = make_worker(name="Rahmat Hidayat")
    html = client.get(f"/pekerja/{worker.id}").get_data(as_text=True)
    panel = html[html.index('id="worker-cards"'):html.index("</section>", html.index('id="worker-cards"'))]
    assert "data-confirm-panel" in panel and "data-confirm=" not in panel
    assert "Terbitkan kartu peserta untuk Rahmat Hidayat?" in panel and f'action="/kartu/pekerja/{worker.id}/terbitkan"' in panel
    for section in ("worker-history", "worker-delete"):
        assert f'id="{section}"' in html and f'hx-select="#{section}"' in html
    assert html.count('hx-trigger="worker-card-changed from:body"') == 2


def test_second_issue_does_not_make_a_second_card(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    first, _ = make_card(worker)
    response = client.post(f"/kartu/pekerja/{worker.id}/terbitkan", headers=PANEL)
    assert response.status_code == 200
    assert "sudah punya kartu" in _assert_panel(response)
    assert [c.id for c in valid_cards(worker)] == [first.id]


@pytest.mark.parametrize("htmx", [False, True])
def test_reissue(app, client, login_as, htmx):
    staff = login_as("petugas")
    worker = make_worker()
    old, old_token = make_card(worker)
    response = client.post(
        f"/kartu/{old.id}/ganti", data={"reason": "rusak", "detail": "terendam banjir"},
        headers=PANEL if htmx else None,
    )
    (new,) = valid_cards(worker)
    assert new.id != old.id and new.issued_by_id == staff.id
    assert card_registry.resolve(old_token).refusal is Refusal.REVOKED
    db.session.refresh(old)
    assert old.revoke_reason == "Rusak: terendam banjir" and old.revoked_by_id == staff.id
    if htmx:
        html = _assert_panel(response)
        assert "kartu baru diterbitkan" in html and "Rusak: terendam banjir" in html
        assert f"/kartu/{new.id}.png" in html and f"/kartu/{old.id}.png" not in html
    else:
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/pekerja/{worker.id}")
        assert {"HX-Request", "HX-Target"} <= set(response.vary)


@pytest.mark.parametrize("htmx", [False, True])
def test_reissue_other_reason_needs_a_note(app, client, login_as, htmx):
    login_as("petugas")
    worker = make_worker()
    card, token = make_card(worker)
    response = client.post(f"/kartu/{card.id}/ganti", data={"reason": "lainnya", "detail": "  "},
                           headers=PANEL if htmx else None)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tulis alasan penggantian." in html
    assert ("<html" in html) is not htmx
    assert card_registry.resolve(token).ok
    response = client.post(f"/kartu/{card.id}/ganti", data={"reason": "dicuri"},
                           headers=PANEL if htmx else None)
    assert response.status_code == 422 and card_registry.resolve(token).ok


def test_reissue_twice_tells_the_card_was_already_revoked(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    card, _ = make_card(worker)
    client.post(f"/kartu/{card.id}/ganti", data={"reason": "hilang"}, headers=PANEL)
    response = client.post(f"/kartu/{card.id}/ganti", data={"reason": "hilang"}, headers=PANEL)
    assert response.status_code == 200
    assert "sudah dicabut sebelumnya" in _assert_panel(response)
    assert len(db.session.scalars(select(Card).where(Card.worker_id == worker.id)).all()) == 2


@pytest.mark.parametrize("htmx", [False, True])
def test_revoke(app, client, login_as, htmx):
    staff = login_as("petugas")
    worker = make_worker()
    card, token = make_card(worker)
    response = client.post(f"/kartu/{card.id}/cabut", data={"reason": "Salah orang"},
                           headers=PANEL if htmx else None)
    assert card_registry.resolve(token).refusal is Refusal.REVOKED
    assert valid_cards(worker) == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "card.revoke"))
    assert event.staff_id == staff.id and event.entity_id == card.id
    if htmx:
        html = _assert_panel(response)
        assert "Kartu dicabut" in html and "Salah orang" in html
        assert f'action="/kartu/pekerja/{worker.id}/terbitkan"' in html
    else:
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Kartu dicabut" in page


def test_revoke_needs_a_reason(app, client, login_as):
    login_as("petugas")
    card, token = make_card(make_worker())
    response = client.post(f"/kartu/{card.id}/cabut", data={"reason": " "}, headers=PANEL)
    assert response.status_code == 422
    assert "Tulis alasan pencabutan." in _assert_panel(response)
    assert card_registry.resolve(token).ok


def test_unknown_card_or_worker_is_404(app, client, login_as):
    login_as("petugas")
    assert client.post("/kartu/pekerja/999/terbitkan").status_code == 404
    assert client.post("/kartu/999/cabut", data={"reason": "x"}).status_code == 404
    assert client.get("/kartu/999.png").status_code == 404


def test_panel_without_htmx_target_is_not_a_fragment(app, client, login_as):
    """A boosted form post (HX-Request but another target) must get a full page."""
    login_as("petugas")
    worker = make_worker()
    response = client.post(f"/kartu/pekerja/{worker.id}/terbitkan",
                           headers={"HX-Request": "true", "HX-Boosted": "true", "HX-Target": "main"})
    assert response.status_code == 302


# ---- PNG / PDF ------------------------------------------------------------------------------

def test_card_png_and_pdf_decode_to_the_card_token(app, client, login_as):
    from cardimages import decode_one, pdf_pages, png_image

    login_as("petugas")
    worker = make_worker()
    card, token = make_card(worker)
    png = client.get(f"/kartu/{card.id}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.headers["Cache-Control"] == "no-store"
    assert decode_one(png_image(png.data)) == token
    pdf = client.get(f"/kartu/{card.id}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.headers["Cache-Control"] == "no-store"
    assert "attachment" in pdf.headers["Content-Disposition"]
    (page,) = pdf_pages(pdf.data, dpi=300)
    assert decode_one(page) == token


def test_revoked_card_is_not_rendered(app, client, login_as):
    login_as("petugas")
    card, _ = make_card(make_worker())
    card_registry.revoke(card, staff=None, reason="uji")
    assert client.get(f"/kartu/{card.id}.png").status_code == 410
    assert client.get(f"/kartu/{card.id}.pdf").status_code == 410


def test_card_with_retired_key_asks_for_a_reissue(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    card, _ = make_card(worker)
    old_key = card.key_id
    card_registry.rotate_key()
    card_registry.retire_key(old_key)
    assert client.get(f"/kartu/{card.id}.pdf").status_code == 410
    html = client.get(f"/kartu/pekerja/{worker.id}").get_data(as_text=True)
    assert "kiosk menolaknya" in html and f"/kartu/{card.id}.png" not in html


# ---- batch print page -----------------------------------------------------------------------

def test_print_page_defaults_to_today_and_counts(app, client, login_as):
    login_as("petugas")
    make_worker(name="Baru Hari Ini")  # enrolled now, no card yet
    with_card = make_worker(name="Sudah Berkartu")
    make_card(with_card)
    page = client.get("/kartu/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cetak kartu" in html and 'name="pilihan"' in html
    from kiosk.coverage import today_jakarta as today

    assert f'value="{today().isoformat()}"' in html
    assert "Terbitkan 1 kartu sekarang" in html and "Baru Hari Ini" in html
    assert f"/kartu/lembar.pdf?pilihan=terdaftar&amp;tanggal={today().isoformat()}" in html


def _enrolled_at(worker, when: datetime):
    worker.created_at = when
    db.session.commit()


def test_enrolled_today_without_card_then_issue_them_now(app, client, login_as):
    from kiosk.coverage import today_jakarta as today

    login_as("petugas")
    day = today()
    noon = datetime.combine(day, datetime.min.time(), tzinfo=timezone(timedelta(hours=7))) + timedelta(hours=12)
    fresh = [make_worker(name=f"Baru {i}") for i in range(3)]
    for w in fresh:
        _enrolled_at(w, noon)
    older = make_worker(name="Lama")
    _enrolled_at(older, noon - timedelta(days=2))
    with_card = make_worker(name="Sudah")
    _enrolled_at(with_card, noon)
    make_card(with_card)

    html = client.get(f"/kartu/?pilihan=terdaftar&tanggal={day.isoformat()}").get_data(as_text=True)
    assert "Terbitkan 3 kartu sekarang" in html
    assert "Baru 0" in html and "Lama" not in html
    count_before = db.session.scalar(select(db.func.count(Card.id)))
    assert count_before == 1  # nothing was issued by looking

    response = client.post("/kartu/terbitkan", data={"tanggal": day.isoformat()})
    assert response.status_code == 302
    assert f"tanggal={day.isoformat()}" in response.headers["Location"]
    for w in fresh:
        assert len(valid_cards(w)) == 1
    assert valid_cards(older) == []
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 kartu diterbitkan" in html and "lembar.pdf?" in html


def test_selection_needs_its_parameter(app, client, login_as):
    login_as("petugas")
    assert client.get("/kartu/?pilihan=kecamatan").status_code == 422
    assert client.get("/kartu/?pilihan=terdaftar&tanggal=kemarin").status_code == 422
    assert client.get("/kartu/?pilihan=asal").status_code == 422
    assert client.get("/kartu/lembar.pdf?pilihan=penyaluran").status_code == 400


def test_distribution_list_selection_counts_only_listed_workers(app, client, login_as):
    login_as("petugas")
    listed = [make_worker() for _ in range(12)]
    other = make_worker()
    for w in listed + [other]:
        make_card(w)
    distribution = make_distribution(eligibility="list")
    db.session.add_all(DistributionListEntry(distribution_id=distribution.id, worker_id=w.id) for w in listed)
    db.session.commit()
    html = client.get(f"/kartu/?pilihan=penyaluran&penyaluran={distribution.id}").get_data(as_text=True)
    assert '<span class="figure-number">12</span>' in html
    assert '<span class="figure-number">2</span>' in html  # sheets
    assert f"lembar.pdf?pilihan=penyaluran" in html


def test_empty_selection_has_no_sheet(app, client, login_as):
    login_as("petugas")
    response = client.get("/kartu/lembar.pdf?pilihan=kecamatan&kecamatan=160327")
    assert response.status_code == 404


def test_unknown_kecamatan_is_refused(app, client, login_as):
    login_as("petugas")
    assert client.get("/kartu/?pilihan=kecamatan&kecamatan=160399").status_code == 422
    assert client.get("/kartu/lembar.pdf?pilihan=kecamatan&kecamatan=160399").status_code == 400
