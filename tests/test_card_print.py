"""Printed cards: every QR on an A4 sheet decodes, with an independent decoder, to a token the
server accepts for the right worker."""

from __future__ import annotations

from sqlalchemy import select

from cardimages import decode, decode_one, pdf_pages, webcam_frame
from factories import make_card, make_coverage, make_distribution, make_worker
from kiosk import card_registry, cards
from kiosk.coverage import today_jakarta
from kiosk.extensions import db
from kiosk.issuing import selection
from kiosk.models import Card


def _sheet(client, query: str) -> bytes:
    response = client.get(f"/kartu/lembar.pdf?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.data


def test_kecamatan_sheet_every_qr_resolves_to_its_worker(app, client, login_as):
    login_as("petugas")
    workers = [make_worker(name=f"Warga {i:02d}", kecamatan="160306") for i in range(12)]
    elsewhere = make_worker(name="Warga Lain", kecamatan="160302")
    for w in workers + [elsewhere]:
        make_coverage(w)
        make_card(w)
    revoked, _ = make_card(make_worker(kecamatan="160306"))
    card_registry.revoke(revoked, staff=None, reason="uji")

    pages = pdf_pages(_sheet(client, "pilihan=kecamatan&kecamatan=160306"), dpi=200)

    assert len(pages) == 2
    per_page = [decode(page) for page in pages]
    assert [len(tokens) for tokens in per_page] == [10, 2]
    found = {}
    for token in (t for tokens in per_page for t in tokens):
        lookup = card_registry.resolve(token)
        assert lookup.ok, (token, lookup.refusal)
        assert token == card_registry.token_for(lookup.card)
        found[lookup.worker.id] = lookup.worker.name
    assert sorted(found) == sorted(w.id for w in workers)
    # Sheets run in name order: the first page holds Warga 00 .. Warga 09.
    first_page = {card_registry.resolve(t).worker.name for t in per_page[0]}
    assert first_page == {f"Warga {i:02d}" for i in range(10)}


def test_distribution_sheet_and_a_webcam_view_of_one_card(app, client, login_as):
    login_as("petugas")
    eligible = [make_worker(name=f"Peserta {i}") for i in range(3)]
    for w in eligible:
        make_coverage(w)
        make_card(w)
    make_card(make_worker(name="Tanpa Kepesertaan"))  # no coverage: not eligible
    distribution = make_distribution()

    (page,) = pdf_pages(_sheet(client, f"pilihan=penyaluran&penyaluran={distribution.id}"), dpi=300)
    tokens = decode(page)
    assert sorted(card_registry.resolve(t).worker.id for t in tokens) == sorted(w.id for w in eligible)

    # One card cut out of the sheet, held up to a cheap webcam.
    x, y = cards.sheet_slot_origin(0)
    scale = 300 / 72
    card_image = page.crop((round(x * scale), round(page.height - (y + cards.CARD_HEIGHT) * scale),
                            round((x + cards.CARD_WIDTH) * scale), round(page.height - y * scale)))
    seen = decode_one(webcam_frame(card_image, card_px=360, seed=3))
    assert seen is not None and card_registry.resolve(seen).ok


def test_sheet_leaves_out_cards_with_a_retired_key(app, client, login_as):
    login_as("petugas")
    old_worker, new_worker = make_worker(name="A Lama"), make_worker(name="B Baru")
    old, _ = make_card(old_worker)
    old_key = old.key_id
    card_registry.rotate_key()
    new, new_token = make_card(new_worker)
    card_registry.retire_key(old_key)

    batch = selection.batch(selection.Selection(selection.ALL))
    assert [c.id for c in batch.cards] == [new.id] and [c.id for c in batch.stale] == [old.id]
    html = client.get("/kartu/?pilihan=semua").get_data(as_text=True)
    assert "Kartu yang perlu diganti" in html and "A Lama" in html
    (page,) = pdf_pages(_sheet(client, "pilihan=semua"), dpi=200)
    assert decode(page) == [new_token]


def test_issued_today_selection_prints_reissued_cards(app, client, login_as):
    login_as("petugas")
    worker = make_worker()
    old, _ = make_card(worker)
    new = card_registry.reissue(old, staff=None, reason="Hilang")
    day = today_jakarta().isoformat()
    (page,) = pdf_pages(_sheet(client, f"pilihan=diterbitkan&tanggal={day}"), dpi=200)
    assert decode(page) == [card_registry.token_for(new)]
    assert db.session.scalar(select(db.func.count(Card.id))) == 2
