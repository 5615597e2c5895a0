"""Card views: a worker's cards panel (issue, reissue, revoke), the card as PNG and PDF, and the
batch-print page with its A4 sheet download."""

from __future__ import annotations

from flask import (
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from ..i18n import _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from .. import card_registry, cards, wilayah
from ..auth.access import staff_required
from ..coverage import today_jakarta
from ..downloads import MASKED, note_rows, personal_data
from ..errors import render_error
from ..extensions import db
from ..models import Card, Distribution, Worker
from ..tokens import format_fallback_code
from ..web import wants_fragment
from . import bp, selection
from .forms import IssueEnrolledForm, IssueForm, ReissueForm, RevokeForm, SelectionForm

PANEL_ID = "worker-cards"
PREVIEW_DPI = 150


@bp.app_template_filter("kode_kartu")
def kode_kartu(code: str | None) -> str:
    """A fallback code as printed on the card: ``1234 5678 901``."""
    if not code:
        return "–"
    try:
        return format_fallback_code(code)
    except ValueError:
        return code


@bp.app_template_global("card_needs_reissue")
def card_needs_reissue(card: Card) -> bool:
    """True when a valid card was printed with a retired key."""
    return card_registry.needs_reissue(card)


def _staff():
    return current_user._get_current_object()


def _panel_or_redirect(worker: Worker, message, category: str = "success", *, status: int = 200,
                       errors: dict | None = None):
    """The answer to an action on the cards panel: the panel itself for htmx, else back to the
    worker page (or, on a validation error, our worker page with the errors, 422)."""
    if wants_fragment(PANEL_ID):
        response = make_response(
            render_template(
                "issuing/_worker_cards.html", worker=worker,
                panel_message=(category, message) if message else None, card_errors=errors,
            ),
            status,
        )
        if status == 200:
            # What else on the worker page depends on the card (its history, the delete button
            # that is only for workers without one) fetches itself again.
            response.headers["HX-Trigger"] = "worker-card-changed"
        return response
    if errors:
        return make_response(render_template("issuing/worker.html", worker=worker, card_errors=errors), status)
    flash(message, category)
    return redirect(url_for("workers.show", worker_id=worker.id))


@bp.get("/pekerja/<int:worker_id>")
@staff_required
def worker(worker_id: int):
    """A worker's cards on a page of their own (the worker page includes the same panel)."""
    worker = db.get_or_404(Worker, worker_id)
    return render_template("issuing/worker.html", worker=worker)


@bp.post("/pekerja/<int:worker_id>/terbitkan")
@staff_required
def issue(worker_id: int):
    """Issue the first card for a worker."""
    worker = db.get_or_404(Worker, worker_id)
    if not IssueForm().validate_on_submit():
        abort(400)
    try:
        card_registry.issue(worker, staff=_staff())
    except card_registry.CardExists as exc:
        return _panel_or_redirect(worker, exc.message, "info")
    return _panel_or_redirect(worker, _l("Kartu diterbitkan. Cetak lalu serahkan ke pekerja."))


@bp.post("/<int:card_id>/ganti")
@staff_required
def reissue(card_id: int):
    """Replace a lost or damaged card: the old one is revoked, a new one issued."""
    card = db.get_or_404(Card, card_id)
    form = ReissueForm()
    if not form.validate_on_submit():
        return _panel_or_redirect(card.worker, None, status=422,
                                  errors={"reissue": form.errors, "card_id": card.id})
    try:
        card_registry.reissue(card, staff=_staff(), reason=form.reason_text())
    except card_registry.CardNotValid as exc:
        return _panel_or_redirect(card.worker, exc.message, "warning")
    return _panel_or_redirect(
        card.worker, _l("Kartu lama dicabut dan kartu baru diterbitkan. Cetak kartu baru.")
    )


@bp.post("/<int:card_id>/cabut")
@staff_required
def revoke(card_id: int):
    """Revoke a card without replacing it."""
    card = db.get_or_404(Card, card_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _panel_or_redirect(card.worker, None, status=422,
                                  errors={"revoke": form.errors, "card_id": card.id})
    try:
        card_registry.revoke(card, staff=_staff(), reason=form.reason.data)
    except card_registry.CardNotValid as exc:
        return _panel_or_redirect(card.worker, exc.message, "warning")
    return _panel_or_redirect(card.worker, _l("Kartu dicabut. Kartu itu tidak bisa dipakai lagi."))


def _printable_card(card_id: int):
    """The card to render, or an error response when it must not be printed."""
    card = db.get_or_404(Card, card_id)
    if card.revoked_at is not None:
        return None, render_error(410, _l("Kartu ini sudah dicabut dan tidak bisa dicetak."))
    if card_registry.needs_reissue(card):
        return None, render_error(
            410, _l("Kunci tanda tangan kartu ini sudah tidak berlaku. Terbitkan kartu pengganti.")
        )
    return card, None


def _file_response(data: bytes, mimetype: str, filename: str | None = None):
    response = make_response(data)
    response.mimetype = mimetype
    response.headers["Cache-Control"] = "no-store"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/<int:card_id>.png")
@staff_required
def card_png(card_id: int):
    """The card as a PNG, for the preview on the worker page."""
    card, refused = _printable_card(card_id)
    if refused:
        return refused
    return _file_response(cards.card_png(card_registry.card_face(card), dpi=PREVIEW_DPI),
                          "image/png")


@bp.get("/<int:card_id>.pdf")
@staff_required
@personal_data("card", nik=MASKED)
def card_pdf(card_id: int):
    """The card as a one-page PDF the size of the card, to print on a card printer."""
    card, refused = _printable_card(card_id)
    if refused:
        return refused
    note_rows(1)
    return _file_response(cards.card_pdf(card_registry.card_face(card)), "application/pdf",
                          f"kartu-{card.id}.pdf")


def _kecamatan_choices() -> list[SelectChoice]:
    return [SelectChoice(k.code, k.name) for k in wilayah.kecamatan_list()]


def _selection_form() -> SelectionForm:
    form = SelectionForm(formdata=request.args if request.args else None)
    form.kecamatan.choices = [SelectChoice("", _l("— pilih kecamatan —"))] + _kecamatan_choices()
    if not request.args:
        form.tanggal.data = today_jakarta()
    return form


@bp.get("/")
@staff_required
def index():
    """Batch printing: choose whose cards, see how many cards and sheets, download the PDF."""
    form = _selection_form()
    chosen = batch = None
    if not request.args:
        chosen = selection.Selection(selection.ENROLLED, day=form.tanggal.data)
    elif form.validate():
        chosen = form.selection()
    if chosen is not None:
        batch = selection.batch(chosen)
    distributions = db.session.scalars(
        select(Distribution).order_by(Distribution.day.desc(), Distribution.id.desc())
    ).all()
    status = 422 if request.args and form.errors else 200
    return render_template(
        "issuing/index.html", form=form, chosen=chosen, batch=batch,
        distributions=distributions, sheet_url=_sheet_url(chosen) if chosen else None,
    ), status


def _sheet_url(chosen: selection.Selection) -> str:
    args = {"pilihan": chosen.kind}
    if chosen.day:
        args["tanggal"] = chosen.day.isoformat()
    if chosen.kecamatan:
        args["kecamatan"] = chosen.kecamatan
    if chosen.distribution_id:
        args["penyaluran"] = chosen.distribution_id
    return url_for("issuing.sheet", **args)


@bp.get("/lembar.pdf")
@staff_required
@personal_data("card_sheet", nik=MASKED)
def sheet():
    """The A4 sheets (2 x 5 cards, crop marks) of the chosen selection's valid cards."""
    form = _selection_form()
    if not request.args or not form.validate():
        return render_error(400)
    chosen = form.selection()
    batch = selection.batch(chosen)
    if not batch.cards:
        return render_error(404, _l("Tidak ada kartu yang bisa dicetak untuk pilihan ini."))
    note_rows(len(batch.cards))
    pdf = cards.sheet_pdf(card_registry.card_face(card) for card in batch.cards)
    suffix = chosen.day.isoformat() if chosen.day else (
        chosen.kecamatan or (str(chosen.distribution_id) if chosen.distribution_id else "")
    )
    filename = "-".join(part for part in ("kartu", chosen.kind, suffix) if part) + ".pdf"
    return _file_response(pdf, "application/pdf", filename)


@bp.post("/terbitkan")
@staff_required
def issue_enrolled():
    """Issue cards now for every worker enrolled on a day who has no valid card yet."""
    form = IssueEnrolledForm()
    if not form.validate_on_submit():
        flash(_l("Tanggal tidak sah."), "error")
        return redirect(url_for("issuing.index"))
    day = form.tanggal.data
    workers = selection.workers_without_card(selection.Selection(selection.ENROLLED, day=day))
    issued = card_registry.issue_many(workers, staff=_staff())
    if issued:
        flash(_l("%(n)s kartu diterbitkan. Unduh lembar cetaknya di bawah.", n=len(issued)),
              "success")
    else:
        flash(_l("Semua pekerja yang terdaftar pada tanggal itu sudah punya kartu."), "info")
    return redirect(url_for("issuing.index", pilihan=selection.ENROLLED, tanggal=day.isoformat()))
