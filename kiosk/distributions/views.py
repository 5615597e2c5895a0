"""Distribution pages for staff: the list, create/edit with the BAST details, the recipient
list, open/close, the live page, "not collected yet", voiding, and the pickup desk."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from ..i18n import _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from .. import backup, card_registry, photos
from .. import distribution as dist
from ..auth.access import admin_required, staff_required
from ..extensions import db, htmx
from ..models import Collection, Distribution, Worker
from ..nik import mask_nik
from ..phone import display_phone
from ..web import photo_response, row_id
from . import bp
from .forms import DistributionForm, HandoverForm, PasteNiksForm, ScanForm, VoidForm

VARY = "HX-Request, HX-Target"
LIVE_ID = "distribution-live"
DESK_RESULT_ID = "desk-result"
DESK_COUNTER_ID = "desk-counter"
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
        if worker is None or not worker.photo or "workers.photo" not in current_app.view_functions:
            return None
        return url_for("workers.photo", worker_id=worker.id)

    def look(outcome) -> tuple[str, str]:
        key = outcome.value if hasattr(outcome, "value") else (outcome or "eligible")
        return OUTCOME_LOOK.get(key, ("bad", "\u2716"))

    def phone(value: str | None) -> str:
        return display_phone(value) or "–"

    return {"mask_nik": mask_nik, "worker_photo_url": worker_photo_url, "outcome_look": look,
            "display_phone": phone, "poll_seconds": POLL_SECONDS}


def _fragment_for(target: str) -> bool:
    """True when this request is htmx aimed at ``target`` (boosted navigation gets pages)."""
    return bool(htmx) and not htmx.boosted and htmx.target == target


def _respond(html: str, status: int = 200, headers: dict | None = None):
    response = make_response(html, status)
    response.headers["Vary"] = VARY
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _staff():
    return current_user._get_current_object()


# ---- list, create, edit ---------------------------------------------------------------------


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
    """Change a distribution's details and the BAST fields."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = DistributionForm(obj=distribution)
    if form.validate_on_submit():
        try:
            dist.save(distribution, form.values(), staff=_staff())
        except dist.DistributionError as err:
            form.packages_total.errors = [err.message]
        else:
            flash(_l("Perubahan disimpan."), "success")
            return redirect(url_for("distributions.detail", distribution_id=distribution.id))
    status = 422 if form.errors else 200
    return render_template("distributions/form.html", form=form, distribution=distribution), status


# ---- live page, open/close, not collected ---------------------------------------------------


def _live_context(distribution: Distribution) -> dict:
    return {
        "distribution": distribution,
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
    if _fragment_for(LIVE_ID):
        # Once closed the fragment comes back without its polling trigger: polling stops.
        return _respond(render_template("distributions/_live.html", **context))
    return _respond(render_template("distributions/detail.html", **context))


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
    """Close the distribution and freeze the recipient lists for the BAST (admin)."""
    db.get_or_404(Distribution, distribution_id)
    try:
        dist.close_distribution(distribution_id, staff=_staff())
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


# ---- the recipient list ---------------------------------------------------------------------


def _search_workers(q: str) -> list[Worker]:
    q = (q or "").strip()
    if len(q) < 2:
        return []
    digits = "".join(ch for ch in q if ch.isdigit())
    if digits and len(digits) >= len(q.replace(" ", "").replace(".", "")):
        condition = Worker.nik.startswith(digits)
    else:
        condition = or_(func.lower(Worker.name).contains(q.lower()), func.lower(Worker.desa_name).contains(q.lower()))
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


# ---- voiding and photos ---------------------------------------------------------------------


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


# ---- the pickup desk ------------------------------------------------------------------------


def _desk(distribution: Distribution, status: int = 200, headers: dict | None = None, **panel):
    """The desk page, or only its result panel / counter when htmx asks for that."""
    panel.setdefault("scan_form", ScanForm(formdata=None))
    context = {"distribution": distribution, **panel}
    if _fragment_for(DESK_RESULT_ID):
        return _respond(render_template("distributions/_desk_result.html", **context), status, headers)
    if _fragment_for(DESK_COUNTER_ID):
        return _respond(render_template("distributions/_desk_counter.html", **context), status, headers)
    return _respond(render_template("distributions/desk.html", **context), status, headers)


def _card_id_of(form: HandoverForm) -> int | None:
    """The card scanned before the handover form was shown (None: found by name/NIK)."""
    return row_id(form.card_id.data)


def _worker_panel(distribution: Distribution, worker: Worker, card_id: int | None) -> dict:
    """The panel for a worker found by card or by name: their status and, when eligible, the
    handover form with a fresh request id (a double tap then repeats the same claim)."""
    status = dist.status_for(distribution, worker, card_id=card_id)
    form = HandoverForm(formdata=None, worker_id=str(worker.id), card_id=str(card_id or ""),
                        request_id=uuid.uuid4().hex)
    return {"worker": worker, "card_id": card_id, "pickup": status, "handover": form}


@bp.get("/<int:distribution_id>/meja")
@staff_required
def desk(distribution_id: int):
    """The pickup desk (tablet): scan a card, or find a worker by name/NIK when the card is lost."""
    distribution = db.get_or_404(Distribution, distribution_id)
    q = request.args.get("q", "").strip()
    panel = {"q": q, "found": _search_workers(q)} if q else {}
    return _desk(distribution, **panel)


@bp.post("/<int:distribution_id>/meja/pindai")
@staff_required
def desk_scan(distribution_id: int):
    """A card scanned at the desk: who it belongs to and whether they may collect."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = ScanForm()
    if not form.validate_on_submit():
        return _desk(distribution, 422, scan_form=form, refusal_code="no_code",
                     refusal_message=form.code.errors[0])
    lookup = card_registry.resolve(form.code.data)
    if lookup.card is None:
        return _desk(distribution, refusal_code=lookup.refusal.value, refusal_message=lookup.refusal.message)
    panel = _worker_panel(distribution, lookup.card.worker, lookup.card.id)
    return _desk(distribution, **panel)


@bp.get("/<int:distribution_id>/meja/pekerja/<int:worker_id>")
@staff_required
def desk_worker(distribution_id: int, worker_id: int):
    """A worker chosen by name/NIK (card lost): the staff member is the proof, not a card."""
    distribution = db.get_or_404(Distribution, distribution_id)
    worker = db.session.get(Worker, worker_id)
    if worker is None:
        abort(404)
    return _desk(distribution, **_worker_panel(distribution, worker, None))


@bp.post("/<int:distribution_id>/meja/serahkan")
@staff_required
def desk_handover(distribution_id: int):
    """Hand the package over: claim it (idempotent by the form's request id) and show the
    sequence number big, or the reason it was refused."""
    distribution = db.get_or_404(Distribution, distribution_id)
    form = HandoverForm()
    if not form.validate_on_submit():
        abort(400)
    worker_id = row_id(form.worker_id.data)
    worker = db.session.get(Worker, worker_id) if worker_id else None
    if worker is None:
        abort(404)
    photo_name = None
    upload = form.handover_photo.data
    if upload and getattr(upload, "filename", ""):
        try:
            photo_name = photos.store(upload.stream)
        except photos.PhotoError as err:
            panel = _worker_panel(distribution, worker, _card_id_of(form))
            panel["handover"] = form
            panel["photo_error"] = err.message
            return _desk(distribution, 422, **panel)
    staff = _staff()
    # The person is standing at the desk: claimed and handed over in one step.
    result = dist.claim(
        distribution.id, worker.id, request_id=form.request_id.data,
        card_id=_card_id_of(form),
        # Stored data, not interface text: the BAST is printed in Indonesian.
        staff=staff, station=f"Meja petugas {staff.full_name or staff.username}"[:80],
        hand_over=True, proxy_name=form.proxy_name.data, proxy_relation=form.proxy_relation.data,
        handover_photo=photo_name,
    )
    if photo_name and (not result.ok or result.replayed):
        photos.delete_photo(photo_name)  # the package was not handed over by this request
    db.session.refresh(distribution)
    return _desk(distribution, worker=worker, result=result, card_id=_card_id_of(form),
                 headers={"HX-Trigger": COLLECTED_EVENT} if result.ok else None)
