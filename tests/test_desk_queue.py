"""The desk's handover queue and its handover: packages claimed at a kiosk wait in claim order;
staff find a person by number, by name or by scanning the card again and hand the package over
once. Closing with packages not handed over asks what to do. Each htmx endpoint as a page and
as a fragment."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from factories import covered_worker, make_card, make_distribution
from kiosk import distribution as dist
from kiosk.extensions import db
from kiosk.models import Collection, Distribution
from kiosk.nik import format_nik

HX = {"HX-Request": "true"}


def hx(target: str) -> dict:
    return {**HX, "HX-Target": target}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def fragment(response, root_id: str) -> str:
    body = text_of(response)
    assert response.status_code == 200, body[:500]
    assert "<html" not in body and f'id="{root_id}"' in body
    assert "HX-Target" in response.headers["Vary"]
    return body


def page(response) -> str:
    body = text_of(response)
    assert response.status_code == 200, body[:500]
    assert "<html" in body
    return body


def request_id_in(html: str) -> str:
    return re.search(r'name="request_id"[^>]*value="([^"]+)"', html).group(1)


def queue_seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="queue-item" data-seq="(\d+)"', html)]


@pytest.fixture
def hall(app):
    """An open distribution with three packages claimed at a kiosk (numbers 1-3)."""
    d = make_distribution(packages=20)
    people = []
    for name in ("Siti Aminah", "Budi Santoso", "Rahmat Hidayat"):
        worker = covered_worker(name=name)
        card, token = make_card(worker)
        assert dist.claim(d.id, worker.id, request_id=f"kiosk-{worker.id}", card_id=card.id, station="Kios aula 1").collected
        people.append((worker, card, token))
    return d, people


@pytest.mark.parametrize("htmx", [False, True])
def test_the_queue_in_claim_order_filtered_by_number_or_name(client, login_as, hall, htmx):
    d, _people = hall
    login_as("petugas")
    base = f"/penyaluran/{d.id}/meja"
    if htmx:
        body = fragment(client.get(f"{base}/antrian", headers=hx("desk-queue")), "desk-queue")
    else:
        body = page(client.get(base))
        assert 'id="desk-queue"' in body and 'id="desk-result"' in body and 'id="queue-q"' in body
    assert queue_seqs(body) == [1, 2, 3]
    assert "Siti Aminah" in body and "baru saja" in body and "Kios aula 1" in body
    headers = hx("desk-queue") if htmx else {}
    read = (lambda r: fragment(r, "desk-queue")) if htmx else page
    assert queue_seqs(read(client.get(f"{base}/antrian?antrian=2", headers=headers))) == [2]
    assert queue_seqs(read(client.get(f"{base}/antrian?antrian=rahmat", headers=headers))) == [3]
    nobody = read(client.get(f"{base}/antrian?antrian=zulkifli", headers=headers))
    assert queue_seqs(nobody) == [] and "Tidak ada yang cocok" in nobody


def test_an_unchanged_queue_is_not_sent_again(client, login_as, hall):
    d, people = hall
    staff = login_as("petugas")
    url = f"/penyaluran/{d.id}/meja/antrian"
    first = fragment(client.get(url, headers=hx("desk-queue")), "desk-queue")
    version = re.search(r'id="queue-version" name="v" value="([0-9a-f]+)"', first).group(1)
    same = client.get(f"{url}?v={version}", headers=hx("desk-queue"))
    assert same.status_code == 204 and same.get_data() == b""
    dist.hand_over(db.session.get(Collection, 1).id, staff=staff, request_id="desk-1")
    changed = fragment(client.get(f"{url}?v={version}", headers=hx("desk-queue")), "desk-queue")
    assert queue_seqs(changed) == [2, 3]
    # A plain request always gets the page.
    assert "<html" in text_of(client.get(f"{url}?v={version}"))


@pytest.mark.parametrize("htmx", [False, True])
def test_hand_over_by_number_once(client, login_as, hall, htmx):
    d, people = hall
    worker = people[1][0]
    staff = login_as("petugas")
    headers = hx("desk-result") if htmx else {}
    read = (lambda r: fragment(r, "desk-result")) if htmx else page

    shown = read(client.get(f"/penyaluran/{d.id}/meja/paket/2", headers=headers))
    assert 'data-outcome="waiting"' in shown and "Budi Santoso" in shown
    assert "Serahkan paket nomor 2</button>" in shown and format_nik(worker.nik) in shown
    assert "belum diserahkan" in shown
    form = {"request_id": request_id_in(shown), "proxy_name": "Wati", "proxy_relation": "istri"}

    response = client.post(f"/penyaluran/{d.id}/meja/paket/2/serahkan", data=form, headers=headers)
    done = read(response)
    assert 'data-outcome="handed_over"' in done and "data-replayed" not in done
    assert "Paket nomor 2" in done and "Sudah diserahkan kepada Wati." in done
    assert response.headers.get("HX-Trigger") == "distribution-changed"
    row = db.session.scalar(select(Collection).where(Collection.seq == 2))
    assert row.handed_over_by_id == staff.id and row.proxy_name == "Wati"

    again = read(client.post(f"/penyaluran/{d.id}/meja/paket/2/serahkan", data=form, headers=headers))
    assert 'data-outcome="handed_over"' in again and "data-replayed" in again
    other = {**form, "request_id": "another-desk-tap"}
    late = read(client.post(f"/penyaluran/{d.id}/meja/paket/2/serahkan", data=other, headers=headers))
    assert 'data-outcome="already_handed_over"' in late and "sudah diserahkan pada" in late
    assert "Serahkan paket nomor 2</button>" not in late

    queue = text_of(client.get(f"/penyaluran/{d.id}/meja/antrian?antrian=2", headers=hx("desk-queue")))
    assert queue_seqs(queue) == [] and "Paket nomor 2 (Budi Santoso) sudah diserahkan" in queue
    assert client.get(f"/penyaluran/{d.id}/meja/paket/99").status_code == 404
    assert client.post(f"/penyaluran/{d.id}/meja/paket/1/serahkan", data={"request_id": ""}).status_code == 400


def test_rescanning_the_card_finds_the_claimed_package(client, login_as, hall):
    d, people = hall
    worker, _card, token = people[0]
    login_as("petugas")
    shown = fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token},
                                 headers=hx("desk-result")), "desk-result")
    assert 'data-outcome="waiting"' in shown and "Dengan kartu" in shown
    assert "Serahkan paket nomor 1</button>" in shown and "Siti Aminah" in shown
    done = fragment(client.post(f"/penyaluran/{d.id}/meja/paket/1/serahkan",
                                data={"request_id": request_id_in(shown)}, headers=hx("desk-result")), "desk-result")
    assert 'data-outcome="handed_over"' in done
    rescan = fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token},
                                  headers=hx("desk-result")), "desk-result")
    assert 'data-outcome="already_collected"' in rescan and "sudah diserahkan pada" in rescan
    assert "Serahkan paket" not in rescan


def test_handover_photo_is_kept_and_a_bad_one_refused(client, login_as, hall):
    d, _people = hall
    login_as("petugas")
    shown = text_of(client.get(f"/penyaluran/{d.id}/meja/paket/3", headers=hx("desk-result")))
    bad = client.post(f"/penyaluran/{d.id}/meja/paket/3/serahkan", headers=hx("desk-result"),
                      data={"request_id": request_id_in(shown), "handover_photo": (io.BytesIO(b"nope"), "x.jpg")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "bukan foto" in text_of(bad)
    assert db.session.scalar(select(Collection).where(Collection.seq == 3)).handed_over_at is None
    image = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 40)).save(image, "JPEG")
    image.seek(0)
    good = client.post(f"/penyaluran/{d.id}/meja/paket/3/serahkan", headers=hx("desk-result"),
                       data={"request_id": request_id_in(shown), "handover_photo": (image, "serah.jpg")},
                       content_type="multipart/form-data")
    assert 'data-outcome="handed_over"' in fragment(good, "desk-result")
    row = db.session.scalar(select(Collection).where(Collection.seq == 3))
    photo = client.get(f"/penyaluran/pengambilan/{row.id}/foto")
    assert row.handover_photo and photo.status_code == 200
    photo.close()


def test_a_closed_distribution_hands_nothing_over(client, login_as, hall):
    d, _people = hall
    login_as("petugas")
    shown = text_of(client.get(f"/penyaluran/{d.id}/meja/paket/1", headers=hx("desk-result")))
    dist.close_distribution(d.id, staff=None, unhanded="keep")
    answer = fragment(client.post(f"/penyaluran/{d.id}/meja/paket/1/serahkan",
                                  data={"request_id": request_id_in(shown)}, headers=hx("desk-result")), "desk-result")
    assert 'data-outcome="not_open"' in answer and "tidak dibuka" in answer


def test_closing_with_packages_not_handed_over_asks_first(client, login_as, hall):
    d, _people = hall
    admin = login_as("admin")
    dist.hand_over(1, staff=admin, request_id="desk-a")
    asked = client.post(f"/penyaluran/{d.id}/tutup")
    body = text_of(asked)
    assert asked.status_code == 409 and "2 paket sudah diambil tetapi belum diserahkan" in body
    assert "Budi Santoso" in body and "Rahmat Hidayat" in body and "Siti Aminah" not in body
    assert 'value="keep"' in body and 'value="void"' in body and f"/penyaluran/{d.id}/meja" in body
    assert db.session.get(Distribution, d.id).status == "open"

    closed = client.post(f"/penyaluran/{d.id}/tutup", data={"belum_diserahkan": "keep"})
    assert closed.status_code == 302
    db.session.expire_all()
    report = db.session.get(Distribution, d.id).frozen_report
    assert [r["name"] for r in report["recipients"]] == ["Siti Aminah"]
    assert [r["seq"] for r in report["claimed_not_handed_over"]] == [2, 3]


def test_closing_may_void_the_packages_not_handed_over(client, login_as, hall):
    d, _people = hall
    login_as("admin")
    closed = client.post(f"/penyaluran/{d.id}/tutup", data={"belum_diserahkan": "void"})
    assert closed.status_code == 302
    db.session.expire_all()
    distribution = db.session.get(Distribution, d.id)
    assert distribution.status == "closed" and distribution.packages_given == 0
    assert {c.void_reason for c in db.session.scalars(select(Collection))} == {dist.UNHANDED_VOID_REASON}


def test_petugas_may_hand_over_but_not_close(client, login_as, hall):
    d, _people = hall
    login_as("petugas")
    assert client.post(f"/penyaluran/{d.id}/tutup", data={"belum_diserahkan": "void"}).status_code == 403


def test_lost_card_claim_at_the_desk_records_why(client, login_as, app):
    d = make_distribution(packages=5)
    worker = covered_worker(name="Tanpa Kartu")
    login_as("petugas")
    shown = fragment(client.get(f"/penyaluran/{d.id}/meja/pekerja/{worker.id}", headers=hx("desk-result")), "desk-result")
    assert 'id="no_card_reason"' in shown and "kartu hilang" in shown
    done = fragment(client.post(f"/penyaluran/{d.id}/meja/serahkan", headers=hx("desk-result"), data={
        "worker_id": str(worker.id), "card_id": "", "request_id": request_id_in(shown), "no_card_reason": "kartu hilang",
    }), "desk-result")
    assert 'data-outcome="collected"' in done
    row = db.session.scalar(select(Collection))
    assert row.no_card_reason == "kartu hilang" and row.handed_over_at is not None and row.card_id is None


def test_a_card_of_a_retired_key_shows_the_person_at_the_desk(client, login_as, app):
    from kiosk import card_registry

    d = make_distribution(packages=5)
    worker = covered_worker(name="Kunci Lama")
    _card, token = make_card(worker)
    ring = card_registry.keyring()
    old = ring.current_id
    ring.rotate()
    ring.retire(old)
    login_as("petugas")
    shown = fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": token},
                                 headers=hx("desk-result")), "desk-result")
    assert "Kunci Lama" in shown and "kunci lama" in shown and 'data-outcome="eligible"' in shown
    assert 'value="kartu lama sudah tidak berlaku"' in shown


def test_a_card_the_desk_cannot_read_offers_the_search_never_ask_the_officer(client, login_as, app):
    from kiosk import tokens

    d = make_distribution(packages=5)
    worker = covered_worker(name="Kartu Palsu")
    _card, token = make_card(worker)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    login_as("petugas")
    for code, outcome in ((forged, "bad_signature"), ("KXYZ", "malformed"), (tokens.new_fallback_code(), "unknown_card")):
        shown = fragment(client.post(f"/penyaluran/{d.id}/meja/pindai", data={"code": code},
                                     headers=hx("desk-result")), "desk-result")
        assert f'data-outcome="{outcome}"' in shown, code
        assert "petugas" not in shown.lower(), shown  # the desk is the officer
        assert 'id="desk-result-q"' in shown and 'name="q"' in shown
    # The search from the answer lists the person with the full NIK, for staff to confirm.
    found = fragment(client.get(f"/penyaluran/{d.id}/meja?q=Kartu+Palsu", headers=hx("desk-result")), "desk-result")
    assert "Kartu Palsu" in found and format_nik(worker.nik) in found
