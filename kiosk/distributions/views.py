"""Distribution pages for staff: the list, create/edit with the BAST details, the recipient
list, open/close, the live page, "not collected yet", voiding, and the pickup desk."""

from __future__ import annotations

import hashlib
import uuid

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from ..i18n import _l
from flask_babel import format_timedelta
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import backup, card_registry, photos
from .. import distribution as dist
from ..auth.access import admin_required, staff_required
from ..database import utcnow
from ..extensions import db
from ..models import Collection, Distribution, Worker
from ..nik import format_nik, mask_nik, search_digits
from ..phone import display_phone
from ..web import fragment_or_page, photo_response, row_id, wants_fragment
from . import bp
from .forms import DistributionForm, HandoverForm, PackageHandoverForm, PasteNiksForm, ScanForm, VoidForm

LIVE_ID = "distribution-live"
DESK_RESULT_ID = "desk-result"
DESK_COUNTER_ID = "desk-counter"
DESK_QUEUE_ID = "desk-queue"
QUEUE_LIMIT = 50
LATEST = 12
POLL_SECONDS = 3
SEARCH_LIMIT = 20
COLLECTED_EVENT = "distribution-changed"
OUTCOME_LOOK = {
    # outcome value -> (css state, icon): never colour alone, the icon and words go with it.
    "collected": ("ok", "\u2714"),
    "eligible": ("ok", "\u2714"),
    "already_collected": ("warn", "\u26a0"),
    "sold_out": ("bad", "\u2716"),
    "not_open": ("bad", "\u23f8"),
    "card_revoked": ("bad", "\u2716"),
    "unknown_card": ("bad", "\u2716"),
}


@bp.context_processor
def helpers() -> dict:
    """Formatting helpers for the distribution templates."""

    def worker_photo_url(worker) -> str | None:
        if worker is None or not worker.photo:
            return None
        return url_for("workers.photo", worker_id=worker.id)

    def look(outcome) -> tuple[str, str]:
        key = outcome.value if hasattr(outcome, "value") else (outcome or "eligible")
        return OUTCOME_LOOK.get(key, ("bad", "\u2716"))

    def phone(value: str | None) -> str:
        return display_phone(value) or "–"

    return {"mask_nik": mask_nik, "format_nik": format_nik, "worker_photo_url": worker_photo_url,
            "outcome_look": look, "display_phone": phone, "poll_seconds": POLL_SECONDS, "ago": ago}


def ago(moment) -> str:
    """How long ago ``moment`` was, in the person's language ("baru saja", "3 menit yang lalu")."""
    seconds = (utcnow() - moment).total_seconds()
    if seconds < 60:
        return str(_l("baru saja"))
    return format_timedelta(moment - utcnow(), granularity="minute", threshold=1.5, add_direction=True)


def _staff():
    return current_user._get_current_object()


@bp.get("/")
@staff_required
def index():
    """All distributions, newest first, with their progress."""
    distributions = db.session.scalars(select(Distribution).order_by(Distribution.day.desc(), Distribution.id.desc())).all()
    return render_template("distributions/index.html", distributions=distributions)


@bp.route("/baru", methods=["GET", "POST"])
@staff_required
def new():
    """Create a distribution (it starts as a draft; an admin opens it)."""
    form = DistributionForm()
    if form.validate_on_submit():
        distribution = dist.save(None, form.values(), staff=_staff())
        flash(_l("Penyaluran dibuat. Buka penyaluran saat pembagian dimulai."), "success")
        return redirect(url_for("distributions.detail", distribution_id=distribution.id))
    status = 422 if form.errors else 200
    return render_template("distributions/form.html", form=form, distribution=None), status


@bp.route("/<int:distribution_id>/ubah", methods=["GET", "POST"])
@staff_required
def edit(distribution_id: int):
    """Change a distribution's details and the BAST fields. Once it is open its terms (what it
    is: ``dist.TERMS``) are an admin's to change, once closed nobody's (``dist.terms_locked``):
    the form then shows them as they are, and the BAST fields alone to fill in."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = DistributionForm(obj=distribution)
    refused = None
    if form.validate_on_submit():
        try:
            dist.save(distribution, form.values(), staff=_staff())
        except dist.TermsLocked as err:  # changed meanwhile (opened, closed), or a forged form
            refused = err.message
        except dist.DistributionError as err:
            form.packages_total.errors = [err.message]
        else:
            flash(_l("Perubahan disimpan."), "success")
            return redirect(url_for("distributions.detail", distribution_id=distribution.id))
    status = 422 if form.errors or refused else 200
    if refused:
        db.session.refresh(distribution)  # its terms shown as they are now; what was typed for the BAST stays
    locked = dist.terms_locked(distribution, _staff())
    stored = DistributionForm(obj=distribution, formdata=None) if locked else None
    return render_template("distributions/form.html", form=form, distribution=distribution, refused=refused,
                           locked=locked, stored=stored), status


def _live_context(distribution: Distribution) -> dict:
    return {
        "distribution": distribution,
        "progress": dist.progress(distribution),
        "latest": dist.collections(distribution.id, newest_first=True, limit=LATEST),
        "open_count": len(dist.not_collected(distribution)) if distribution.status != "draft" else None,
    }


@bp.get("/<int:distribution_id>")
@staff_required
def detail(distribution_id: int):
    """The live page: packages given and left, the latest collections (with photos), polled
    every few seconds by htmx while the distribution is open."""
    distribution = db.get_or_404(Distribution, distribution_id)
    context = _live_context(distribution)
    # Once closed the fragment comes back without its polling trigger: polling stops.
    return fragment_or_page("distributions/detail.html", {LIVE_ID: "distributions/_live.html"}, context)


@bp.post("/<int:distribution_id>/buka")
@admin_required
def open_(distribution_id: int):
    """Open the distribution for pickup (admin)."""
    db.get_or_404(Distribution, distribution_id)
    dist.open_distribution(distribution_id, staff=_staff())
    flash(_l("Penyaluran dibuka. Kiosk dan meja petugas bisa menyerahkan paket."), "success")
    return redirect(url_for("distributions.detail", distribution_id=distribution_id))


@bp.post("/<int:distribution_id>/tutup")
@admin_required
def close(distribution_id: int):
    """Close the distribution and freeze the recipient lists for the BAST (admin). With
    packages claimed but not handed over, first ask what happens to them (``belum_diserahkan``:
    keep or void)."""
    distribution = db.get_or_404(Distribution, distribution_id)
    choice = request.form.get("belum_diserahkan")
    try:
        dist.close_distribution(distribution_id, staff=_staff(),
                                unhanded=choice if choice in dist.UNHANDED_CHOICES else None)
    except dist.UnhandedPackages as err:
        waiting = dist.waiting(distribution_id)
        return render_template("distributions/close.html", distribution=distribution, count=err.count,
                               waiting=waiting), 409
    except dist.DistributionError as err:
        flash(err.message, "error")
    else:
        flash(_l("Penyaluran ditutup. Daftar penerima dibekukan untuk BAST."), "success")
        backup.start(current_app._get_current_object(), "close")
    return redirect(url_for("distributions.detail", distribution_id=distribution_id))


@bp.get("/<int:distribution_id>/belum-ambil")
@staff_required
def not_collected(distribution_id: int):
    """Eligible workers who have not collected yet, with phone numbers to call."""
    distribution = db.get_or_404(Distribution, distribution_id)
    return render_template("distributions/not_collected.html", distribution=distribution,
                           workers=dist.not_collected(distribution))


def _search_workers(q: str) -> list[Worker]:
    q = (q or "").strip()
    if len(q) < 2:
        return []
    digits = search_digits(q)
    if digits:
        condition = Worker.nik.startswith(digits)
    else:  # autoescape: a typed % or _ is itself, not "anything"
        condition = or_(func.lower(Worker.name).contains(q.lower(), autoescape=True),
                        func.lower(Worker.desa_name).contains(q.lower(), autoescape=True))
    return list(db.session.scalars(select(Worker).where(condition).order_by(Worker.name).limit(SEARCH_LIMIT)))


@bp.route("/<int:distribution_id>/daftar", methods=["GET", "POST"])
@staff_required
def recipients(distribution_id: int):
    """The recipient list (eligibility "list"): search and add workers, paste NIKs, remove."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = PasteNiksForm()
    unknown: tuple = ()
    if form.validate_on_submit():
        change = dist.add_niks_to_list(distribution.id, form.niks.data, staff=_staff())
        unknown = change.unknown
        flash(_l("%(added)s pekerja ditambahkan, %(already)s sudah ada di daftar.",
                 added=change.added, already=change.already), "success")
        if not unknown:
            return redirect(url_for("distributions.recipients", distribution_id=distribution.id))
    q = request.args.get("q", "")
    listed = dist.listed_workers(distribution.id)
    status = 422 if form.errors else 200
    return render_template(
        "distributions/recipients.html", distribution=distribution, form=form, listed=listed,
        listed_ids={w.id for w in listed}, q=q, found=_search_workers(q), unknown=unknown,
    ), status


@bp.post("/<int:distribution_id>/daftar/tambah")
@staff_required
def recipients_add(distribution_id: int):
    """Add the workers chosen in a search to the list."""
    db.get_or_404(Distribution, distribution_id)
    ids = [i for i in map(row_id, request.form.getlist("worker_id")) if i]
    change = dist.add_to_list(distribution_id, ids, staff=_staff())
    flash(_l("%(added)s pekerja ditambahkan, %(already)s sudah ada di daftar.",
             added=change.added, already=change.already), "success")
    return redirect(url_for("distributions.recipients", distribution_id=distribution_id, q=request.form.get("q", "")))


@bp.post("/<int:distribution_id>/daftar/<int:worker_id>/hapus")
@staff_required
def recipients_remove(distribution_id: int, worker_id: int):
    """Take a worker off the list."""
    db.get_or_404(Distribution, distribution_id)
    if dist.remove_from_list(distribution_id, worker_id, staff=_staff()):
        flash(_l("Pekerja dihapus dari daftar."), "success")
    return redirect(url_for("distributions.recipients", distribution_id=distribution_id))


@bp.route("/pengambilan/<int:collection_id>/batal", methods=["GET", "POST"])
@admin_required
def void(collection_id: int):
    """Void a collection (admin, with a reason): the package goes back to the count."""
    collection = db.get_or_404(Collection, collection_id)
    form = VoidForm()
    if form.validate_on_submit():
        try:
            dist.void(collection.id, staff=_staff(), reason=form.reason.data)
        except dist.DistributionError as err:
            form.reason.errors = [err.message]
        else:
            flash(_l("Pengambilan paket ke-%(seq)s dibatalkan.", seq=collection.seq), "success")
            return redirect(url_for("distributions.detail", distribution_id=collection.distribution_id))
    status = 422 if form.errors else 200
    return render_template("distributions/void.html", collection=collection, form=form), status


@bp.get("/pengambilan/<int:collection_id>/foto")
@staff_required
def handover_photo(collection_id: int):
    """The photo taken at the handover, for signed-in staff only."""
    return photo_response(db.get_or_404(Collection, collection_id).handover_photo)


# The desk's page has three parts: the scanner and search (left), the result panel
# (#desk-result: one person and what the desk can do for them) and the handover queue
# (#desk-queue: packages claimed at the kiosks and not yet handed over, in claim order).


def _desk(distribution: Distribution, status: int = 200, headers: dict | None = None, **panel):
    """The desk page, or only its result panel / counter / queue when htmx asks for that."""
    panel.setdefault("scan_form", ScanForm(formdata=None))
    context = {"distribution": distribution, **panel}
    if wants_fragment(DESK_RESULT_ID):
        return _render("distributions/_desk_result.html", context, status, headers)
    context["progress"] = dist.progress(distribution)
    if wants_fragment(DESK_COUNTER_ID):
        return _render("distributions/_desk_counter.html", context, status, headers)
    if "queue" not in context:
        context.update(_queue_context(distribution, request.args.get("antrian", "")))
    fragments = {DESK_QUEUE_ID: "distributions/_desk_queue.html"}
    return fragment_or_page("distributions/desk.html", fragments, context, status, headers)


def _render(template: str, context: dict, status: int, headers: dict | None):
    return make_response(render_template(template, **context), status, headers or {})


def _queue_context(distribution: Distribution, q: str) -> dict:
    """The queue (filtered by number or name) and, for a number no longer waiting, that package."""
    q = " ".join(q.split())[:80]
    queue = dist.waiting(distribution.id, q=q, limit=QUEUE_LIMIT)
    seq = row_id(q)
    number = dist.by_number(distribution.id, seq) if seq and not queue else None
    # What the list shows; "how long ago" changes by the minute. An unchanged list is not sent
    # again (its photos would be fetched again: they are never cached).
    shown = f"{q}|{[c.id for c in queue]}|{number.id if number else ''}|{utcnow():%Y%m%d%H%M}"
    version = hashlib.blake2s(shown.encode(), digest_size=8).hexdigest()
    return {"queue": queue, "queue_q": q, "queue_number": number, "queue_version": version}


def _card_id_of(form: HandoverForm) -> int | None:
    """The card scanned before the handover form was shown (None: found by name/NIK)."""
    return row_id(form.card_id.data)


# Why a card at the desk cannot be the proof; the desk then hands over on its own word.
CARD_NOTES = {
    "revoked": _l("Kartu ini sudah dicabut. Pastikan orangnya dari foto dan NIK."),
    "retired_key": _l("Kartu ini dicetak dengan kunci lama dan sudah tidak berlaku. Pastikan orangnya dari foto "
                      "dan NIK; terbitkan kartu baru sesudahnya."),
}
# A card the desk cannot read as anyone's, in the desk's words: the desk is where such cards end
# up, so never "ask the officer" (tokens.Refusal.message is for the person holding the card). The
# answer then offers the desk's own way: the search by name or NIK, and the hand-over without a card.
DESK_REFUSALS = {
    "malformed": _l("Kartu tidak terbaca. Pindai sekali lagi, atau cari pekerjanya."),
    "wrong_version": _l("Ini bukan kartu peserta BPU."),
    "unknown_key": _l("Kartu tidak sah: server ini tidak mengenal kunci kartu ini."),
    "bad_signature": _l("Kartu tidak sah: tanda tangannya tidak cocok (kartu palsu atau rusak)."),
    "unknown_card": _l("Kartu ini tidak ada dalam data kami."),
    "revoked": _l("Kartu ini sudah dicabut."),
    "retired_key": _l("Kartu ini dicetak dengan kunci lama dan sudah tidak berlaku."),
}
NO_CARD_REASONS = {
    "revoked": _l("kartu sudah dicabut"),
    "retired_key": _l("kartu lama sudah tidak berlaku"),
}


def _worker_panel(distribution: Distribution, worker: Worker, card_id: int | None, card_note: str | None = None) -> dict:
    """The panel for a worker found by card or by name: their status and what the desk can do —
    hand over the package they claimed at a kiosk, or claim and hand over in one step (with a
    fresh request id: a double tap then repeats the same request)."""
    status = dist.status_for(distribution, worker, card_id=card_id)
    panel = {"worker": worker, "card_id": card_id, "pickup": status}
    if card_note:
        panel["card_note"] = CARD_NOTES[card_note]
    if status.outcome is dist.Outcome.ALREADY_COLLECTED:
        panel["collection"] = db.session.get(Collection, status.collection_id)
        if status.handed_over_at is None:
            panel["package_form"] = PackageHandoverForm(formdata=None, request_id=uuid.uuid4().hex)
    elif status.may_collect:
        panel["handover"] = HandoverForm(
            formdata=None, worker_id=str(worker.id), card_id=str(card_id or ""), request_id=uuid.uuid4().hex,
            no_card_reason=str(NO_CARD_REASONS[card_note]) if card_note else "",
        )
    return panel


def _collection_panel(distribution: Distribution, collection: Collection) -> dict:
    """A package found in the queue or by its number: its person, and the handover form while
    it waits (no card shown: the desk confirms the person from the photo and NIK)."""
    return _worker_panel(distribution, collection.worker, None)


@bp.get("/<int:distribution_id>/meja")
@staff_required
def desk(distribution_id: int):
    """The pickup desk (tablet): the handover queue, scan a card, or find a worker by name/NIK
    when the card is lost."""
    distribution = db.get_or_404(Distribution, distribution_id)
    q = request.args.get("q", "").strip()
    panel = {"q": q, "found": _search_workers(q)} if q else {}
    return _desk(distribution, **panel)


@bp.post("/<int:distribution_id>/meja/pindai")
@staff_required
def desk_scan(distribution_id: int):
    """A card scanned at the desk: who it belongs to and what the desk can do for them. A
    revoked card (or one of a retired key) still shows whose it was, and the desk may hand over
    on its own word."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = ScanForm()
    if not form.validate_on_submit():
        return _desk(distribution, 422, scan_form=form, refusal_code="no_code",
                     refusal_message=form.code.errors[0])
    lookup = card_registry.resolve(form.code.data)
    if lookup.card is None:
        return _desk(distribution, refusal_code=lookup.refusal.value,
                     refusal_message=DESK_REFUSALS.get(lookup.refusal.value, lookup.refusal.message))
    if not lookup.ok:
        return _desk(distribution, **_worker_panel(distribution, lookup.card.worker, None, lookup.refusal.value))
    return _desk(distribution, **_worker_panel(distribution, lookup.card.worker, lookup.card.id))


@bp.get("/<int:distribution_id>/meja/pekerja/<int:worker_id>")
@staff_required
def desk_worker(distribution_id: int, worker_id: int):
    """A worker chosen by name/NIK (card lost): the staff member is the proof, not a card."""
    distribution = db.get_or_404(Distribution, distribution_id)
    worker = db.session.get(Worker, worker_id)
    if worker is None:
        abort(404)
    return _desk(distribution, **_worker_panel(distribution, worker, None))


@bp.get("/<int:distribution_id>/meja/antrian")
@staff_required
def desk_queue(distribution_id: int):
    """The handover queue, narrowed to a package number or part of a name (``antrian``). Its
    poll gets 204 while the list it shows (version ``v``) is unchanged."""
    distribution = db.get_or_404(Distribution, distribution_id)
    queue = _queue_context(distribution, request.args.get("antrian", ""))
    if wants_fragment(DESK_QUEUE_ID) and request.args.get("v") == queue["queue_version"]:
        return make_response("", 204)
    return _desk(distribution, **queue)


@bp.get("/<int:distribution_id>/meja/paket/<int:seq>")
@staff_required
def desk_package(distribution_id: int, seq: int):
    """One package by its number (from the queue): its person and the handover button."""
    distribution = db.get_or_404(Distribution, distribution_id)
    collection = dist.by_number(distribution.id, seq)
    if collection is None:
        abort(404)
    return _desk(distribution, **_collection_panel(distribution, collection))


def _stored_photo(form) -> tuple[str | None, object]:
    """The handover photo of ``form`` stored, or the error to show (``(None, message)``)."""
    upload = form.handover_photo.data
    if not upload or not getattr(upload, "filename", ""):
        return None, None
    try:
        return photos.store(upload.stream), None
    except photos.PhotoError as err:
        return None, err.message


@bp.post("/<int:distribution_id>/meja/paket/<int:seq>/serahkan")
@staff_required
def desk_hand_over(distribution_id: int, seq: int):
    """Hand over a package claimed at a kiosk: exactly once whatever the number of desks
    (idempotent by the form's request id), then the answer and the next in the queue."""
    distribution = db.get_or_404(Distribution, distribution_id)
    collection = dist.by_number(distribution.id, seq)
    if collection is None:
        abort(404)
    form = PackageHandoverForm()
    if not form.validate_on_submit():
        abort(400)
    photo_name, photo_error = _stored_photo(form)
    if photo_error:
        panel = _collection_panel(distribution, collection)
        panel.update(package_form=form, photo_error=photo_error)
        return _desk(distribution, 422, **panel)
    answer = dist.hand_over(collection.id, staff=_staff(), request_id=form.request_id.data,
                            proxy_name=form.proxy_name.data, proxy_relation=form.proxy_relation.data,
                            handover_photo=photo_name)
    if photo_name and (not answer.ok or answer.replayed):
        photos.delete_photo(photo_name)  # the package was not handed over by this request
    db.session.refresh(collection)
    return _desk(distribution, worker=collection.worker, collection=collection, handed=answer,
                 card_id=collection.card_id, headers={"HX-Trigger": COLLECTED_EVENT} if answer.ok else None)


@bp.post("/<int:distribution_id>/meja/serahkan")
@staff_required
def desk_handover(distribution_id: int):
    """Claim and hand over in one step for the person at the desk (idempotent by the form's
    request id) and show the package number big, or the reason it was refused."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = HandoverForm()
    if not form.validate_on_submit():
        abort(400)
    worker_id = row_id(form.worker_id.data)
    worker = db.session.get(Worker, worker_id) if worker_id else None
    if worker is None:
        abort(404)
    photo_name, photo_error = _stored_photo(form)
    if photo_error:
        panel = _worker_panel(distribution, worker, _card_id_of(form))
        panel.update(handover=form, photo_error=photo_error)
        return _desk(distribution, 422, **panel)
    staff = _staff()
    result = dist.claim(
        distribution.id, worker.id, request_id=form.request_id.data,
        card_id=_card_id_of(form),
        # Stored data, not interface text: the BAST is printed in Indonesian.
        staff=staff, station=f"Meja petugas {staff.full_name or staff.username}"[:80],
        hand_over=True, proxy_name=form.proxy_name.data, proxy_relation=form.proxy_relation.data,
        handover_photo=photo_name, no_card_reason=form.no_card_reason.data,
    )
    if photo_name and (not result.collected or result.replayed):
        photos.delete_photo(photo_name)  # the package was not handed over by this request
    db.session.refresh(distribution)
    return _desk(distribution, worker=worker, result=result, card_id=_card_id_of(form),
                 headers={"HX-Trigger": COLLECTED_EVENT} if result.collected else None)
