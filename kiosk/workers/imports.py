"""Import pages (upload, preview of every row, confirm), the import template, and the export of
the filtered worker list."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from ..i18n import _l
from flask_login import current_user

from sqlalchemy import func, select

from .. import imports
from ..auth import staff_required
from ..extensions import db
from ..downloads import BY_ROLE, FULL, full_nik, note_rows, personal_data
from ..web import fragment_or_page
from . import bp, listing

PREVIEW_PAGE = 100
SHOW = {"semua": None, "tambah": "add", "perbarui": "update", "tolak": "refuse", "ganda": "held"}
MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def _download(data: bytes, fmt: str, filename: str):
    response = make_response(data)
    response.headers["Content-Type"] = MIMETYPES[fmt]
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/impor")
@staff_required
def import_form():
    """The import page: upload a CSV/XLSX list, download the template; after an import with
    refused rows, the link to download them."""
    refused_upload = None
    token = request.args.get("ditolak", "")
    if token:
        try:
            refused_upload = imports.uploads.get(token, staff=current_user)
        except imports.ImportExpired:
            refused_upload = None
    return render_template("workers/import.html", error=None, refused_upload=refused_upload)


@bp.get("/impor/templat.<fmt>")
@staff_required
def import_template(fmt: str):
    """The import template (XLSX or CSV) with the exact headers and one example row."""
    if fmt not in MIMETYPES:
        abort(404)
    return _download(imports.template(fmt), fmt, "templat-impor-pekerja")


@bp.post("/impor")
@staff_required
def import_upload():
    """Read the uploaded list and show what importing it would do; nothing is written yet. A
    file whose column names are not known goes to the page that asks which column is which."""
    upload = request.files.get("berkas")
    if upload is None or not upload.filename:
        return render_template("workers/import.html", error=_l("Pilih berkas Excel (.xlsx) atau CSV dahulu."),
                               refused_upload=None), 422
    try:
        kept = imports.uploads.keep(upload.stream, upload.filename, staff=current_user)
    except imports.ImportFileError as exc:
        return render_template("workers/import.html", error=exc.message, refused_upload=None), 422
    try:
        result = imports.uploads.preview_upload(kept, staff=current_user)
    except imports.UnknownColumns:
        flash(_l("Judul kolom berkas ini belum dikenal. Pilih isi setiap kolom; pilihan Anda diingat untuk "
                 "berkas berikutnya dengan judul kolom yang sama."), "warning")
        return redirect(url_for("workers.import_columns", upload=kept), 303)
    except imports.ImportFileError as exc:
        imports.uploads.forget(kept)
        return render_template("workers/import.html", error=exc.message, refused_upload=None), 422
    return redirect(url_for("workers.import_preview", token=result.token), 303)


def _columns_context(upload, table, index: int, columns: dict[int, str], problems=()) -> dict:
    from ..imports.columns import HEADERS
    from ..imports.mappings import FIELDS

    line, header = table[index]
    samples = [values for _line, values in table[index + 1 : index + 4]]
    width = max([len(header)] + [len(values) for values in samples] + [max(columns, default=-1) + 1])
    return {
        "upload": upload, "line": line, "problems": problems,
        "lines": [(row_line, " · ".join(str(v) for v in values if v not in (None, ""))[:80])
                  for row_line, values in table[:15]],
        "columns": [
            {"index": col, "name": header[col] if col < len(header) and header[col] is not None else "",
             "samples": [values[col] for values in samples if col < len(values) and values[col] not in (None, "")],
             "field": columns.get(col, "")}
            for col in range(width)
        ],
        "choices": [(key, HEADERS[key]) for key in FIELDS],
    }


@bp.route("/impor/berkas/<upload>/kolom", methods=["GET", "POST"])
@staff_required
def import_columns(upload: str):
    """Say which column of the uploaded file is which (NIK, Nama, …), from the header row;
    remembered for the next file with the same header row, then the preview."""
    from ..imports import mappings
    from ..imports.columns import COLUMNS

    try:
        kept = imports.uploads.get(upload, staff=current_user)
        table = imports.read_table(kept.content, kept.filename)
    except imports.ImportFileError as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    line_arg = request.values.get("baris", "")
    index, columns = mappings.guess(table, int(line_arg) if line_arg.isascii() and line_arg.isdigit() and len(line_arg) < 7 else None)
    if request.method == "GET":
        return render_template("workers/import_columns.html", **_columns_context(kept, table, index, columns))
    keys = {key for key, _h, _o in COLUMNS}
    chosen = {}
    for name, value in request.form.items():
        col = name.removeprefix("kolom-")
        if name.startswith("kolom-") and col.isascii() and col.isdigit() and len(col) < 3 and value in keys:
            chosen[int(col)] = value
    problems = mappings.check(chosen)
    if problems:
        context = _columns_context(kept, table, index, chosen, problems)
        return render_template("workers/import_columns.html", **context), 422
    mappings.remember(table[index][1], chosen, staff=current_user)
    try:
        result = imports.uploads.preview_upload(upload, staff=current_user, header=(index, chosen))
    except imports.ImportFileError as exc:
        context = _columns_context(kept, table, index, chosen, [exc.message])
        return render_template("workers/import_columns.html", **context), 422
    return redirect(url_for("workers.import_preview", token=result.token), 303)


@bp.get("/impor/berkas/<upload>/ditolak.xlsx")
@staff_required
@personal_data("import_refused", nik=FULL, own=True)
def import_refused(upload: str):
    """The refused rows of an uploaded list as XLSX: the file's own columns in their order,
    with an added "Alasan" column, to fix and import again."""
    try:
        kept = imports.uploads.get(upload, staff=current_user)
        data = imports.uploads.refused_xlsx(kept)
    except imports.ImportFileError as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    stem = (kept.filename.rsplit(".", 1)[0] or "impor")
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in stem)[:60]
    return _download(data, "xlsx", f"ditolak-{safe}")


def _preview_context(result: imports.ImportPreview) -> dict:
    show = request.args.get("tampil", "semua")
    if show not in SHOW:
        show = "semua"
    wanted = SHOW[show]
    rows = [r for r in result.rows if wanted is None or r.action == wanted or (wanted == "held" and r.held)]
    pages = max(1, -(-len(rows) // PREVIEW_PAGE))
    page_arg = request.args.get("hal", "1")
    page = min(max(int(page_arg) if page_arg.isascii() and page_arg.isdigit() and len(page_arg) < 7 else 1, 1), pages)
    line_arg = request.args.get("baris", "")
    if line_arg.isascii() and line_arg.isdigit():  # the page holding that line (a link from another row)
        index = next((i for i, r in enumerate(rows) if str(r.line) == line_arg), None)
        if index is not None:
            page = index // PREVIEW_PAGE + 1
    return {
        "result": result, "rows": rows[(page - 1) * PREVIEW_PAGE : page * PREVIEW_PAGE],
        "show": show, "page": page, "pages": pages, "shown_total": len(rows),
        "field_labels": imports.HEADERS, "base_income": imports.base_income(),
    }


@bp.get("/impor/<token>")
@staff_required
def import_preview(token: str):
    """The preview: every row as akan ditambah / akan diperbarui / ditolak with its reasons,
    a page at a time; the rows table alone for htmx paging."""
    try:
        result = imports.load(token, staff=current_user)
    except imports.ImportExpired as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    context = _preview_context(result)
    return fragment_or_page("workers/import_preview.html", {"import-rows": "workers/_import_rows.html"}, context)


@bp.post("/impor/<token>")
@staff_required
def import_confirm(token: str):
    """Write every accepted row in one transaction, or nothing."""
    try:
        outcome = imports.commit(token, staff=current_user)
    except imports.ImportChanged as changed:
        flash(_l("Data pekerja berubah sejak pratinjau dibuat (ada yang baru didaftarkan). Periksa pratinjau "
                 "terbaru ini lalu konfirmasi lagi; belum ada yang disimpan."), "error")
        return redirect(url_for("workers.import_preview", token=changed.preview.token), 303)
    except imports.ImportExpired as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    except imports.ImportFileError as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    flash(_l("Impor selesai: %(added)s pekerja ditambahkan, %(updated)s diperbarui, %(refused)s baris ditolak "
             "(tidak disimpan).", added=outcome.added, updated=outcome.updated, refused=outcome.refused), "success")
    if outcome.refused and outcome.upload:
        imports.uploads.note_refused(outcome.upload, outcome.refused_rows)
        return redirect(url_for("workers.import_form", ditolak=outcome.upload), 303)
    return redirect(url_for("workers.index"), 303)


@bp.post("/impor/<token>/baris/<int:line>/berbeda")
@staff_required
def import_row_different(token: str, line: int):
    """Staff confirm that a row held as a probable duplicate is another person, with a reason;
    the row will be added (nothing is written until the import is saved)."""
    from .. import duplicates

    back = url_for("workers.import_preview", token=token, tampil=request.form.get("tampil", "semua"),
                   baris=line) + f"#baris-{line}"
    try:
        reason = duplicates.clean_reason(request.form.get("reason"))
        marked = imports.mark_different(token, line, reason, staff=current_user)
    except duplicates.ReasonError as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    except imports.ImportExpired as exc:
        flash(exc.message, "error")
        return redirect(url_for("workers.import_form"), 303)
    if marked:
        shown = imports.load(token, staff=current_user)
        imports.uploads.note_refused(shown.upload, imports.uploads.refused_of(shown.rows))
        flash(_l("Baris %(line)s dicatat sebagai orang berbeda; baris itu akan ditambah saat disimpan.", line=line),
              "success")
    return redirect(back, 303)


@bp.post("/impor/<token>/batal")
@staff_required
def import_cancel(token: str):
    """Cancel an import: the stored preview is forgotten."""
    imports.discard(token)
    flash(_l("Impor dibatalkan; tidak ada yang disimpan."), "success")
    return redirect(url_for("workers.import_form"), 303)


@bp.get("/ekspor")
@staff_required
@personal_data("workers", nik=BY_ROLE)
def export():
    """The filtered worker list as XLSX or CSV (``format``): full NIK for an admin, masked NIK
    and no birth date for a petugas (``kiosk.downloads``); without a format, a page to choose one."""
    filters = listing.filters_from_args(request.args)
    fmt = request.args.get("format", "")
    if fmt not in MIMETYPES:
        args = {k: v for k, v in request.args.items() if k not in ("format", "setelah")}
        return render_template("workers/export.html", filters=filters, args=args)
    query = listing.filtered_query(filters)
    note_rows(db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())))
    masked = not full_nik()
    data = imports.export_csv(query, masked=masked) if fmt == "csv" else imports.export_xlsx(query, masked=masked)
    from ..coverage import today_jakarta

    return _download(data, fmt, f"pekerja-{today_jakarta().isoformat()}")
