"""Worker pages for staff: the list, the enroll/edit form with live checks, the worker page
with photo and coverage, single and bulk renewal, deletion."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from ..i18n import _l
from flask_login import current_user

from .. import coverage as coverage_rules
from .. import days, duplicates, enrollment, photos
from ..auth import staff_required
from ..extensions import db
from ..models import Worker
from ..web import fragment_or_page, photo_response, row_id, wants_fragment
from . import bp, forms, listing, panels

# A live check of one field also answers the fields whose messages depend on it: the NIK
# carries the birth date and sex, and was issued in a kecamatan.
RELATED_FIELDS = {"nik": ("birth_date", "sex", "kecamatan"), "birth_date": ("nik",), "sex": ("nik",)}
PROBABLE_FIELDS = ("nik", "name", "birth_date", "desa")
AUDIT_ACTIONS = {
    "create": _l("dibuat"), "update": _l("diubah"), "delete": _l("dihapus"),
    "issue": _l("diterbitkan"), "revoke": _l("dicabut"),
}
AUDIT_ENTITIES = {"worker": _l("Data pekerja"), "coverage": _l("Periode cakupan"), "card": _l("Kartu")}
FIELD_LABELS = {
    "nik": _l("NIK"), "name": _l("nama"), "sex": _l("jenis kelamin"), "birth_place": _l("tempat lahir"),
    "birth_date": _l("tanggal lahir"), "address": _l("alamat"), "kecamatan_code": _l("kecamatan"),
    "desa_code": _l("desa"), "desa_name": _l("desa"), "occupation": _l("pekerjaan"), "phone": _l("nomor HP"),
    "kpj": _l("KPJ"), "income": _l("penghasilan"), "photo": _l("foto"), "start_date": _l("mulai"),
    "end_date": _l("berakhir"), "funder": _l("penanggung iuran"), "jht": _l("JHT"),
}


@bp.context_processor
def worker_helpers() -> dict:
    """Formatting helpers for the worker templates."""
    from ..nik import format_nik, mask_nik
    from ..phone import display_phone
    from ..rupiah import format_rupiah

    def audit_verb(event) -> str:
        # "worker.update", or "update" alone in events written before actions named their entity.
        return event.action.rpartition(".")[2]

    def audit_label(event) -> str:
        entity = AUDIT_ENTITIES.get(event.entity_type, event.entity_type)
        return f"{entity} {AUDIT_ACTIONS.get(audit_verb(event), event.action)}"

    def field_label(key: str) -> str:
        return str(FIELD_LABELS.get(key, key))

    return {
        "mask_nik": mask_nik, "format_nik": format_nik, "display_phone": display_phone,
        "rupiah": format_rupiah, "audit_label": audit_label, "audit_verb": audit_verb, "field_label": field_label,
    }


@bp.get("/")
@staff_required
def index():
    """The worker list: search as you type (name, NIK, KPJ, desa) and filters."""
    filters = listing.filters_from_args(request.args)
    result = listing.page(filters, row_id(request.args.get("setelah")))
    context = panels.list_context(result)
    return fragment_or_page("workers/index.html", {"worker-results": "workers/_results.html"}, context)


@bp.get("/desa")
@staff_required
def desa_options():
    """The desa select of a kecamatan (reloaded when the kecamatan changes)."""
    kecamatan = request.args.get("kecamatan", "")
    if not wants_fragment("field-desa"):
        return redirect(url_for("workers.new", kecamatan=kecamatan))
    values = {"kecamatan": kecamatan, "desa": ""}
    html = render_template("workers/_desa.html", values=values, desa=forms.desa_choices(kecamatan),
                           errors={}, warnings={})
    return make_response(html)


def _form_context(values: dict, validation: enrollment.Validation | None, worker: Worker | None,
                  coverage_values: dict | None = None, coverage_check: enrollment.Validation | None = None):
    if values.get("photo") and not photos.exists_now(values["photo"]):
        # A tampered name is never shown as a URL; a photo swept meanwhile (the form says so)
        # is not carried on.
        values = {**values, "photo": ""}
    return {
        "values": values,
        "errors": validation.errors if validation else {},
        "warnings": validation.warnings if validation else {},
        "conflicts": validation.conflicts if validation else {},
        "duplicate": validation.duplicate if validation else None,
        "probable": validation.probable if validation else [],
        "different": _different(request.form),
        "worker": worker,
        "fields": forms.WORKER_FORM,
        "kecamatan_choices": forms.kecamatan_choices(),
        "desa": forms.desa_choices(values.get("kecamatan", "")),
        "occupations": forms.occupation_choices(),
        "coverage": coverage_values,
        "coverage_errors": coverage_check.errors if coverage_check else {},
        "contribution": panels.contribution_preview(values, coverage_values),
    }


def _take_photo(values: dict, validation_errors: dict) -> None:
    """Store an uploaded/captured photo now, so a form re-shown with errors keeps it (its name
    in a hidden field). One never saved is deleted later by ``photos.sweep``."""
    upload = request.files.get("photo_file")
    if upload is None or not upload.filename and not upload.mimetype.startswith("image/"):
        return
    try:
        values["photo"] = photos.store(upload.stream)
    except photos.PhotoError as exc:
        validation_errors.setdefault("photo", []).append(exc.message)


@bp.route("/baru", methods=["GET", "POST"])
@staff_required
def new():
    """Enroll a worker, optionally with their first coverage period."""
    today = coverage_rules.today_jakarta()
    if request.method == "GET":
        values = {name: "" for name in forms.FIELD_NAMES}
        values["kecamatan"] = request.args.get("kecamatan", "")
        coverage_values = forms.coverage_defaults(today) | {"with_coverage": "1"}
        return render_template("workers/form.html", **_form_context(values, None, None, coverage_values))
    values = forms.values_from_form(request.form)
    photo_errors: dict = {}
    _take_photo(values, photo_errors)
    check = enrollment.validate_worker(values)
    for name, messages in photo_errors.items():
        check.errors.setdefault(name, []).extend(messages)
    coverage_values = _coverage_values(request.form)
    coverage_check = None
    if coverage_values["with_coverage"]:
        coverage_check = enrollment.validate_coverage(coverage_values)
    reason = _confirm_different(check) if check.ok else ""
    if check.ok and (coverage_check is None or coverage_check.ok):
        try:
            worker = enrollment.enroll(check.clean, staff=current_user, coverage=coverage_check.clean if coverage_check else None,
                                       different_from=[p.worker_id for p in check.probable], reason=reason)
        except enrollment.Refused as exc:
            for name, messages in exc.errors.items():
                check.errors.setdefault(name, []).extend(messages)
        else:
            flash(_l("%(name)s sudah terdaftar.", name=worker.name), "success")
            return redirect(url_for("workers.show", worker_id=worker.id), 303)
    context = _form_context(values, check, None, coverage_values, coverage_check)
    return render_template("workers/form.html", **context), 422


def _different(form) -> dict:
    return {"checked": form.get("different") == "1", "reason": form.get("different_reason", "")}


def _confirm_different(check: enrollment.Validation) -> str:
    """A new worker who is probably someone already enrolled is saved only once staff confirm
    "orang berbeda" with a reason; returns the reason, or adds the refusal to ``check``."""
    if not check.probable:
        return ""
    different = _different(request.form)
    if not different["checked"]:
        check.error("probable", _l("Periksa dulu kemungkinan data ganda di bawah: buka data yang sudah terdaftar, "
                                   "atau centang \"orang berbeda\" dan tulis alasannya."))
        return ""
    try:
        return duplicates.clean_reason(different["reason"])
    except duplicates.ReasonError as exc:
        check.error("different_reason", exc.message)
        return ""


@bp.route("/<int:worker_id>/ubah", methods=["GET", "POST"])
@staff_required
def edit(worker_id: int):
    """Correct a worker's data."""
    worker = db.get_or_404(Worker, worker_id)
    if request.method == "GET":
        return render_template("workers/form.html", **_form_context(forms.values_from_worker(worker), None, worker))
    values = forms.values_from_form(request.form)
    photo_errors: dict = {}
    _take_photo(values, photo_errors)
    check = enrollment.validate_worker(values, existing=worker)
    for name, messages in photo_errors.items():
        check.errors.setdefault(name, []).extend(messages)
    if check.ok:
        try:
            enrollment.update(worker, check.clean, staff=current_user)
        except enrollment.Refused as exc:
            for name, messages in exc.errors.items():
                check.errors.setdefault(name, []).extend(messages)
        else:
            flash(_l("Data %(name)s sudah disimpan.", name=worker.name), "success")
            return redirect(url_for("workers.show", worker_id=worker.id), 303)
    return render_template("workers/form.html", **_form_context(values, check, worker)), 422


@bp.post("/periksa/<field>")
@staff_required
def check_field(field: str):
    """Live check while the person types. The whole form is checked (a NIK needs the birth date
    and sex) and that field's messages are answered with those of the fields that depend on it
    (``RELATED_FIELDS``), the probable duplicates panel when the NIK, name, birth date or desa
    changed, and the contribution when the income or coverage changed. Without htmx the whole
    form comes back checked."""
    if field not in forms.FIELD_NAMES and field != "coverage":
        abort(404)
    worker_id = row_id(request.form.get("worker_id"))
    worker = db.session.get(Worker, worker_id) if worker_id else None
    values = forms.values_from_form(request.form)
    coverage_values = None if worker else _coverage_values(request.form)
    check = enrollment.validate_worker(values, existing=worker)
    target = "contribution" if field == "coverage" else f"feedback-{field}"
    if not wants_fragment(target):
        context = _form_context(values, check, worker, coverage_values)
        return make_response(render_template("workers/form.html", **context), 422 if check.errors else 200)
    contribution = panels.contribution_preview(values, coverage_values)
    if field == "coverage":
        html = render_template("workers/_contribution.html", contribution=contribution, oob=False)
        return make_response(html)
    parts = [_feedback_html(field, check, values)]
    for related in RELATED_FIELDS.get(field, ()):
        if values.get(related):
            parts.append(_feedback_html(related, check, values, oob=True))
    if field in PROBABLE_FIELDS:
        parts.append(render_template("workers/_probable.html", probable=check.probable, worker=worker,
                                     errors={}, different=_different(request.form), oob=True))
    if field == "income" and coverage_values is not None:
        parts.append(render_template("workers/_contribution.html", contribution=contribution, oob=True))
    return make_response("\n".join(parts))


def _coverage_values(form) -> dict:
    return {k: form.get(k, "") for k in ("start", "end", "jht", "funder", "with_coverage")}


def _feedback_html(field: str, check: enrollment.Validation, values: dict, oob: bool = False) -> str:
    return render_template(
        "workers/_feedback.html",
        name=field,
        errors=check.errors.get(field, []),
        warnings=check.warnings.get(field, []),
        conflict=check.conflicts.get(field),
        duplicate=check.duplicate if field == "nik" else None,
        value=values.get(field, ""),
        checked=True,
        oob=oob,
    )


@bp.get("/<int:worker_id>")
@staff_required
def show(worker_id: int):
    """The worker page: identity (full NIK), photo, coverage, cards, collections, audit trail."""
    worker = db.get_or_404(Worker, worker_id)
    return render_template("workers/show.html", **panels.worker_context(worker))


@bp.get("/<int:worker_id>/foto")
@staff_required
def photo(worker_id: int):
    """The worker's photo, for signed-in staff only."""
    return photo_response(db.get_or_404(Worker, worker_id).photo)


@bp.get("/foto-sementara/<name>")
@staff_required
def pending_photo(name: str):
    """A photo just taken on a form not saved yet (shown as its preview)."""
    return photo_response(name)


@bp.post("/<int:worker_id>/foto")
@staff_required
def replace_photo(worker_id: int):
    """Replace the worker's photo (camera or upload)."""
    worker = db.get_or_404(Worker, worker_id)
    upload = request.files.get("photo_file")
    error = None
    if upload is None:
        error = _l("Pilih atau ambil foto dahulu.")
    else:
        try:
            name = photos.store(upload.stream)
        except photos.PhotoError as exc:
            error = exc.message
        else:
            enrollment.set_photo(worker, name, staff=current_user)
    if wants_fragment("photo-panel"):
        html = render_template("workers/_photo.html", worker=worker, photo_error=error)
        return make_response(html, 422 if error else 200)
    if error:
        flash(error, "error")
    else:
        flash(_l("Foto sudah disimpan."), "success")
    return redirect(url_for("workers.show", worker_id=worker.id), 303)


def _coverage_answer(worker: Worker, *, error=None, form_values=None, form_errors=None, status=200):
    if wants_fragment("coverage-panel"):
        context = panels.coverage_context(worker, form_values=form_values, form_errors=form_errors, error=error)
        return make_response(render_template("workers/_coverage.html", **context), status)
    if error or form_errors:
        context = panels.worker_context(worker, form_values=form_values, form_errors=form_errors, error=error)
        return make_response(render_template("workers/show.html", **context), status)
    return redirect(url_for("workers.show", worker_id=worker.id) + "#coverage-panel", 303)


@bp.post("/<int:worker_id>/cakupan")
@staff_required
def add_coverage(worker_id: int):
    """Add a coverage period to the worker."""
    worker = db.get_or_404(Worker, worker_id)
    values = {k: request.form.get(k, "") for k in ("start", "end", "jht", "funder")}
    check = enrollment.validate_coverage(values)
    if not check.ok:
        return _coverage_answer(worker, form_values=values, form_errors=check.errors, status=422)
    try:
        enrollment.add_coverage(worker, staff=current_user, **check.clean)
    except enrollment.Refused as exc:
        return _coverage_answer(worker, form_values=values, form_errors=exc.errors, status=422)
    flash(_l("Periode cakupan ditambahkan."), "success")
    return _coverage_answer(worker)


@bp.post("/<int:worker_id>/perpanjang")
@staff_required
def renew(worker_id: int):
    """Renew the worker's coverage: a new period after the latest one."""
    worker = db.get_or_404(Worker, worker_id)
    try:
        period = enrollment.renew(worker, staff=current_user)
    except enrollment.Refused as exc:
        return _coverage_answer(worker, error=exc.message, status=422)
    from ..i18n import tanggal

    flash(_l("Cakupan diperpanjang sampai %(end)s.", end=tanggal(period.end_date)), "success")
    return _coverage_answer(worker)


@bp.post("/<int:worker_id>/hapus")
@staff_required
def delete(worker_id: int):
    """Delete a worker enrolled by mistake (only without card and collections)."""
    worker = db.get_or_404(Worker, worker_id)
    name = worker.name
    try:
        enrollment.delete(worker, staff=current_user)
    except enrollment.Refused as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.show", worker_id=worker_id), 303)
    flash(_l("Data %(name)s sudah dihapus.", name=name), "success")
    return redirect(url_for("workers.index"), 303)


def _parse_day(raw: str | None) -> date | None:
    try:
        return enrollment.parse_date(raw)
    except ValueError:
        return None


@bp.route("/perpanjang", methods=["GET", "POST"])
@staff_required
def renew_many():
    """Renew every worker whose latest period ends before a date, after a preview."""
    raw = request.values.get("sebelum", "")
    before = _parse_day(raw)
    error = None
    if raw and before is None:
        error = days.UNREADABLE
    if request.method == "POST" and before is not None:
        count = enrollment.renew_many(before, staff=current_user)
        flash(_l("%(n)s pekerja diperpanjang cakupannya.", n=count), "success")
        return redirect(url_for("workers.renew_many", sebelum=before.isoformat()), 303)
    rows = enrollment.renewal_preview(before) if before else None
    return render_template(
        "workers/renew.html", before=before, raw=raw, rows=rows, error=error,
        kecamatan_names=panels.kecamatan_names(),
    ), (422 if error else 200)
