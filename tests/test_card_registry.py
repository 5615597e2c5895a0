"""The card registry: issue, reissue, revoke, resolve a token or fallback code, key retirement,
and what a printed card shows."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from factories import make_card, make_coverage, make_staff, make_worker
from kiosk import card_registry, tokens
from kiosk.extensions import db
from kiosk.models import AuditEvent, Card, Worker
from kiosk.tokens import Refusal


PHOTO = "0123456789abcdef0123456789abcdef.jpg"


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_issue_gives_a_valid_card_the_kiosk_accepts(engine_app):
    staff = make_staff()
    worker = make_worker(name="Siti Aminah")
    card = card_registry.issue(worker, staff=staff)

    assert card.is_valid and card.worker_id == worker.id and card.issued_by_id == staff.id
    assert card.key_id == card_registry.keyring().current_id
    assert tokens.normalize_fallback_code(card.fallback_code) == card.fallback_code
    token = card_registry.token_for(card)
    assert worker.nik not in token and "SITI" not in token
    for raw in (token, token + "\r\n", card.fallback_code):
        lookup = card_registry.resolve(raw)
        assert lookup.ok, raw
        assert lookup.card.id == card.id and lookup.worker.id == worker.id
    (event,) = _events("card.issue")
    assert (event.entity_id, event.staff_id) == (card.id, staff.id)
    assert event.after["worker_id"] == worker.id and event.after["replaces"] is None


def test_issue_refuses_a_second_valid_card(app):
    worker = make_worker()
    first = card_registry.issue(worker, staff=None)
    with pytest.raises(card_registry.CardExists) as exc:
        card_registry.issue(worker, staff=None)
    assert exc.value.card.id == first.id
    assert db.session.scalar(select(db.func.count(Card.id))) == 1


def test_reissue_revokes_the_old_card_its_token_and_its_code(engine_app):
    staff = make_staff()
    worker = make_worker()
    old, old_token = make_card(worker)
    old_code = old.fallback_code

    new = card_registry.reissue(old, staff=staff, reason="Hilang: jatuh di sungai")

    assert new.id != old.id and new.worker_id == worker.id and new.is_valid
    db.session.refresh(old)
    assert old.revoked_at is not None and old.revoked_by_id == staff.id
    assert old.revoke_reason == "Hilang: jatuh di sungai"
    for raw in (old_token, old_code, tokens.format_fallback_code(old_code)):
        lookup = card_registry.resolve(raw)
        assert lookup.refusal is Refusal.REVOKED, raw
        assert lookup.card.id == old.id  # the desk can still see whose card it was
    assert card_registry.resolve(card_registry.token_for(new)).card.id == new.id
    assert card_registry.resolve(new.fallback_code).ok
    assert card_registry.valid_card(worker).id == new.id
    (revoke_event,) = _events("card.revoke")
    assert revoke_event.entity_id == old.id and revoke_event.after["revoke_reason"].startswith("Hilang")
    assert [e.after["replaces"] for e in _events("card.issue")] == [None, old.id]


def test_reissue_of_a_revoked_card_is_refused_not_repeated(app):
    worker = make_worker()
    old, _ = make_card(worker)
    card_registry.reissue(old, staff=None, reason="Rusak")
    with pytest.raises(card_registry.CardNotValid):
        card_registry.reissue(old, staff=None, reason="Rusak")  # the second tap
    assert db.session.scalar(select(db.func.count(Card.id))) == 2


def test_revoke(engine_app):
    staff = make_staff()
    worker = make_worker()
    card, token = make_card(worker)
    card_registry.revoke(card, staff=staff, reason="Pindah domisili")

    assert card_registry.resolve(token).refusal is Refusal.REVOKED
    assert card_registry.resolve(card.fallback_code).refusal is Refusal.REVOKED
    assert card_registry.valid_card(worker) is None
    with pytest.raises(card_registry.CardNotValid):
        card_registry.revoke(card, staff=staff, reason="lagi")
    (event,) = _events("card.revoke")
    assert event.staff_id == staff.id and event.after["revoke_reason"] == "Pindah domisili"
    # A worker whose card was revoked may get a new first card.
    assert card_registry.issue(worker, staff=staff).is_valid


def test_database_allows_one_valid_card_per_worker(engine_app):
    worker = make_worker()
    card, _ = make_card(worker)
    db.session.add(Card(worker_id=worker.id, fallback_code=tokens.new_fallback_code(), key_id="A"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # A revoked second card is fine: the unique index covers valid cards only.
    db.session.add(Card(worker_id=worker.id, fallback_code=tokens.new_fallback_code(), key_id="A",
                        revoked_at=card.issued_at, revoke_reason="uji"))
    db.session.commit()


def test_concurrent_issues_give_one_card(engine_app):
    worker_id = make_worker().id
    db.session.remove()
    outcomes, barrier = [], threading.Barrier(4)

    def attempt():
        with engine_app.app_context():
            worker = db.session.get(Worker, worker_id)
            barrier.wait()
            try:
                outcomes.append(card_registry.issue(worker, staff=None).id)
            except card_registry.CardExists:
                outcomes.append("exists")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes, key=str).count("exists") == 3
    valid = db.session.scalars(select(Card).where(Card.worker_id == worker_id)).all()
    assert len(valid) == 1 and valid[0].is_valid


@pytest.mark.parametrize("typed", [
    "{a} {b} {c}", "{a}-{b}-{c}", " {a}{b}{c} ", "{a} - {b} - {c}", "{a}.{b}.{c}\n",
])
def test_fallback_code_with_spaces_and_dashes(app, typed):
    worker = make_worker()
    card, _ = make_card(worker)
    code = card.fallback_code
    raw = typed.format(a=code[:4], b=code[4:8], c=code[8:])
    lookup = card_registry.resolve(raw)
    assert lookup.ok and lookup.card.id == card.id


def test_fallback_code_typo_is_not_a_card(app):
    card, _ = make_card(make_worker())
    code = card.fallback_code
    typo = code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    assert card_registry.resolve(typo).refusal is Refusal.MALFORMED
    # A well-formed code that nobody holds.
    body = "0000000000" if code[:10] != "0000000000" else "1111111111"
    assert card_registry.resolve(body + tokens.verhoeff_check_digit(body)).refusal is Refusal.UNKNOWN_CARD


@pytest.mark.parametrize("card_id", [999_999, tokens.MAX_CARD_ID])
def test_signed_token_of_an_unknown_card(engine_app, card_id):
    make_card(make_worker())
    token = tokens.sign(card_id, card_registry.keyring())
    assert tokens.read(token, card_registry.keyring()).ok  # genuine signature ...
    lookup = card_registry.resolve(token)  # ... but no such card
    assert lookup.refusal is Refusal.UNKNOWN_CARD and lookup.card is None


def test_forged_and_foreign_tokens_are_refused(app):
    card, token = make_card(make_worker())
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert card_registry.resolve(flipped).refusal is Refusal.BAD_SIGNATURE
    assert card_registry.resolve("K7" + token[2:]).refusal is Refusal.UNKNOWN_KEY
    assert card_registry.resolve(token.lower()).card.id == card.id  # Caps Lock on a scanner
    assert card_registry.resolve(None).refusal is Refusal.MALFORMED


def test_rotation_keeps_old_cards_and_retirement_refuses_them(engine_app):
    ring = card_registry.keyring()
    first_key = ring.current_id
    old_worker, new_worker = make_worker(name="Lama"), make_worker(name="Baru")
    old, old_token = make_card(old_worker)

    new_key = card_registry.rotate_key()
    assert new_key != first_key and ring.current_id == new_key
    new, new_token = make_card(new_worker)
    assert (old.key_id, new.key_id) == (first_key, new_key)
    # A reprint of the old card is the same card: signed with the key it was issued with.
    assert card_registry.token_for(old) == old_token and old_token[1] == first_key
    assert new_token[1] == new_key
    assert card_registry.resolve(old_token).ok and card_registry.resolve(new_token).ok
    assert not card_registry.needs_reissue(old)

    stopped = card_registry.retire_key(first_key)

    assert [c.id for c in stopped] == [old.id]
    for raw in (old_token, old.fallback_code):
        lookup = card_registry.resolve(raw)
        assert lookup.refusal is Refusal.RETIRED_KEY, raw
        # Whose card it was (the desk shows the person), but never a usable card.
        assert lookup.card.id == old.id and not lookup.ok
    assert card_registry.needs_reissue(old)
    assert card_registry.resolve(new_token).ok and card_registry.resolve(new.fallback_code).ok
    # A reissue puts the worker on the current key again.
    replacement = card_registry.reissue(old, staff=None, reason="Kunci lama dipensiunkan")
    assert replacement.key_id == new_key and card_registry.resolve(card_registry.token_for(replacement)).ok
    assert [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "card_key").order_by(AuditEvent.id)
    )] == ["card_key.rotate", "card_key.retire"]


def test_current_key_cannot_be_retired(app):
    with pytest.raises(tokens.KeyRingError):
        card_registry.retire_key(card_registry.keyring().current_id)
    assert not _events("card_key.retire")


def test_retired_key_token_of_unknown_card(app):
    ring = card_registry.keyring()
    token = tokens.sign(424242, ring)
    old_key = ring.current_id
    card_registry.rotate_key()
    card_registry.retire_key(old_key)
    assert card_registry.resolve(token).refusal is Refusal.RETIRED_KEY


def test_issue_many_skips_workers_with_a_card(engine_app):
    staff = make_staff()
    a, b, c = make_worker(), make_worker(), make_worker()
    existing, _ = make_card(b)
    issued = card_registry.issue_many([a, b, c, a], staff=staff)
    assert sorted(card.worker_id for card in issued) == sorted([a.id, c.id])
    assert card_registry.valid_card(b).id == existing.id
    assert len(_events("card.issue")) == 3
    assert card_registry.issue_many([a, b, c], staff=staff) == []
    assert card_registry.issue_many([], staff=staff) == []


def test_card_face_shows_masked_nik_latest_coverage_and_photo(app):
    from kiosk.models import Photo

    db.session.add(Photo(name=PHOTO, data=b"\xff\xd8jpeg-bytes"))
    db.session.commit()
    worker = make_worker(name="Budi Santoso", kpj="25012345678", photo=PHOTO)
    make_coverage(worker, start=date(2025, 1, 1), end=date(2025, 3, 31))
    make_coverage(worker, start=date(2026, 1, 1), end=date(2026, 3, 31))
    card, token = make_card(worker)
    db.session.expire_all()

    face = card_registry.card_face(card)
    assert face.token == token and face.fallback_code == card.fallback_code
    assert face.name == "Budi Santoso" and face.kpj == "25012345678"
    assert worker.nik not in face.masked_nik.replace(" ", "")
    assert face.masked_nik.replace(" ", "").startswith(worker.nik[:4])
    assert face.masked_nik.endswith(worker.nik[-4:])
    assert (face.coverage_start, face.coverage_end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert face.photo == b"\xff\xd8jpeg-bytes"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.text(max_size=80), st.text(alphabet="KA234567BCDEFGHIJ -", max_size=30)))
def test_resolve_never_raises(app, raw):
    lookup = card_registry.resolve(raw)
    assert not lookup.ok and isinstance(lookup.refusal, Refusal)


def test_cli_rotate_then_retire_card_key(app):
    runner = app.test_cli_runner()
    ring = card_registry.keyring()
    first_key = ring.current_id
    old, old_token = make_card(make_worker(name="Ani Kartu Lama"))

    result = runner.invoke(args=["rotate-card-key"])
    assert result.exit_code == 0, result.output
    new_key = ring.current_id
    assert new_key != first_key and f"card key {new_key} is now the current key" in result.output
    assert card_registry.resolve(old_token).ok  # old cards keep working after a rotation
    new, new_token = make_card(make_worker(name="Budi Kartu Baru"))
    assert new.key_id == new_key

    refused = runner.invoke(args=["retire-card-key", new_key, "--yes"])
    assert refused.exit_code != 0 and "cannot be retired" in refused.output
    unknown = runner.invoke(args=["retire-card-key", "Z", "--yes"])
    assert unknown.exit_code != 0 and "no card key" in unknown.output
    declined = runner.invoke(args=["retire-card-key", first_key], input="n\n")
    assert declined.exit_code != 0 and "1 valid card(s)" in declined.output
    assert card_registry.resolve(old_token).ok and first_key not in ring.retired_ids

    result = runner.invoke(args=["retire-card-key", first_key.lower(), "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 valid card(s) need a reissue" in result.output
    assert "Ani Kartu Lama" in result.output and "Budi Kartu Baru" not in result.output
    assert card_registry.resolve(old_token).refusal is Refusal.RETIRED_KEY
    assert card_registry.resolve(new_token).ok
    again = runner.invoke(args=["retire-card-key", first_key, "--yes"])
    assert again.exit_code == 0 and "already retired" in again.output
    db.session.expire_all()
    assert [(e.action, e.after) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "card_key").order_by(AuditEvent.id)
    )] == [
        ("card_key.rotate", {"current": new_key}),
        ("card_key.retire", {"key_id": first_key, "valid_cards_stopped": 1}),
    ]


def test_cli_help_says_what_the_commands_do(app):
    runner = app.test_cli_runner()
    assert "keep working" in runner.invoke(args=["rotate-card-key", "--help"]).output
    assert "reissue" in runner.invoke(args=["retire-card-key", "--help"]).output
