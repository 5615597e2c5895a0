"""Staff home (dashboard), the reports page, report downloads and the audit trail.

The documents are built by ``kiosk.reports``; these views parse the query string, call it and
send the file. Download links carry ``hx-boost="false"`` in the templates: a PDF must not be
swapped into the page.
"""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import date

from flask import abort, current_app, render_template, request, send_file
from flask_babel import format_decimal

from .. import days, spreadsheets
from ..coverage import today_jakarta
from ..reports import audit as audit_trail
from ..reports import bast as bast_report
from ..reports import charts, dashboard, lists, pdf
from ..reports import coverage as coverage_report
from ..auth import admin_required, staff_required
from ..database import utcnow
from ..downloads import FULL, MASKED, count_rows, note_rows, personal_data
from ..extensions import db
from ..models import Distribution
from ..rupiah import format_rupiah
from ..web import wants_fragment
from . import bp

LIVE_ID = "dashboard-live"
KECAMATAN_ID = "dashboard-kecamatan"
MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


@bp.app_template_filter("rupiah")
def rupiah_filter(amount) -> str:
    """Money the Indonesian way in templates: ``{{ 16800|rupiah }}`` -> "Rp16.800"."""
    return format_rupiah(amount)


@bp.app_template_filter("angka")
def angka_filter(number) -> str:
    """A count with the locale's thousands separator: "100.000" in Indonesian."""
    return format_decimal(number or 0)


def _cached(key: str, compute):
    """``compute()``, remembered for ``DASHBOARD_CACHE_SECONDS`` (default 30) in this process.

    The coverage figures scan every coverage row (about half a second at 100,000 workers) and
    change slowly; several dashboards polling every 10 s share one computation. Packages handed
    out are never cached: they are one row and change by the minute on a distribution day."""
    ttl = current_app.config.get("DASHBOARD_CACHE_SECONDS", 30)
    if not ttl:
        return compute()
    cache = current_app.extensions.setdefault("dashboard_cache", {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    cache[key] = (now + ttl, value)
    return value


def _live_context() -> dict:
    day = today_jakarta()
    workers, active, ending, contribution = _cached(f"coverage:{day}", lambda: dashboard.coverage_figures(day))
    figures = dashboard.DashboardFigures(day, workers, active, ending, dashboard.valid_cards(),
                                       contribution, dashboard.distribution_figures())
    dist = db.session.get(Distribution, figures.distribution.id) if figures.distribution else None
    hours = charts.collections_line(dashboard.collections_per_hour(dist)) if dist else None
    return {"figures": figures, "hours_chart": hours, "live_id": LIVE_ID, "now_jakarta": lists.clock(utcnow())}


def _kecamatan_context() -> dict:
    day = today_jakarta()
    rows = _cached(f"kecamatan:{day}", lambda: coverage_report.coverage_summary(day))
    return {"kecamatan_rows": rows, "kecamatan_chart": charts.coverage_bars(rows), "kecamatan_id": KECAMATAN_ID,
            "status_labels": coverage_report.STATUS_LABELS}


def _office_pc_warnings() -> list:
    """What an admin must know about the office PC: backups and disk space."""
    from flask_login import current_user

    from .. import backup

    if not current_user.is_admin:
        return []
    return backup.warnings()


@bp.get("/")
@staff_required
def home():
    """The staff home page: enrollment and aid at a glance. Its two panels poll this same URL
    (``HX-Target`` names the panel) and get only themselves back."""
    if wants_fragment(LIVE_ID):
        return render_template("dashboard/_live.html", **_live_context())
    if wants_fragment(KECAMATAN_ID):
        return render_template("dashboard/_kecamatan.html", **_kecamatan_context())
    return render_template("dashboard/home.html", **_live_context(), **_kecamatan_context(),
                           office_pc_warnings=_office_pc_warnings())


def _int_arg(name: str, minimum: int = 0, maximum: int = 10_000) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    return min(max(int(raw), minimum), maximum)


def _date_arg(name: str) -> date | None:
    return days.from_query(request.args.get(name))


def _coverage_filter() -> coverage_report.CoverageFilter:
    status = request.args.get("status", "")
    return coverage_report.CoverageFilter(
        status=status if status in coverage_report.STATUSES else "",
        ending_within=_int_arg("berakhir_dalam", 0, 3650),
        kecamatan_code=(request.args.get("kecamatan") or "").strip()[:6],
        occupation=(request.args.get("pekerjaan") or "").strip()[:80],
    )


@bp.get("/laporan", endpoint="reports")
@staff_required
def reports_page():
    """Reports: documents of each distribution, and the coverage report with its filters."""
    filters = _coverage_filter()
    day = today_jakarta()
    ending = filters.ending_within if filters.ending_within is not None else 14
    return render_template(
        "dashboard/reports.html",
        distributions=lists.distributions_with_reports(),
        filters=filters,
        day=day,
        ending=ending,
        matching=coverage_report.coverage_count(day, filters),
        by_kecamatan=coverage_report.coverage_summary(day, "kecamatan", ending),
        by_occupation=coverage_report.coverage_summary(day, "occupation", ending),
        kecamatan_choices=coverage_report.kecamatan_codes(),
        occupation_choices=coverage_report.occupations(),
        status_labels=coverage_report.STATUS_LABELS,
    )


def _send(data: bytes, fmt: str, name: str):
    return send_file(io.BytesIO(data), mimetype=MIMETYPES[fmt], as_attachment=fmt != "pdf",
                     download_name=f"{name}.{fmt}")


def _distribution(distribution_id: int) -> Distribution:
    dist = db.session.get(Distribution, distribution_id)
    if dist is None or dist.status == "draft":
        abort(404)
    return dist


def _office() -> dict:
    from .. import settings

    return settings.office()


@bp.get("/laporan/penyaluran/<int:distribution_id>/bast.pdf")
@staff_required
@personal_data("bast", nik=MASKED)
def bast(distribution_id: int):
    """The BAST (handover report) of a distribution, as a PDF to print and sign (masked NIKs)."""
    dist = _distribution(distribution_id)
    note_rows(len(lists.recipients(dist)))
    return _send(bast_report.bast_pdf(dist, **_office()), "pdf", f"BAST-{dist.day.isoformat()}-{dist.id}")


@bp.get("/laporan/penyaluran/<int:distribution_id>/<kind>.<fmt>")
@staff_required
@personal_data("distribution_list", nik=MASKED)
def distribution_list(distribution_id: int, kind: str, fmt: str):
    """The recipients (``penerima``) or non-recipients (``belum-menerima``) of a distribution:
    a PDF to sign, or XLSX/CSV (masked NIKs)."""
    if kind not in ("penerima", "belum-menerima") or fmt not in MIMETYPES:
        abort(404)
    dist = _distribution(distribution_id)
    name = f"{kind}-{dist.day.isoformat()}-{dist.id}"
    people = lists.recipients(dist) if kind == "penerima" else lists.non_recipients(dist)
    note_rows(len(people))
    if fmt == "pdf":
        which = "recipients" if kind == "penerima" else "non_recipients"
        return _send(pdf.signing_list_pdf(dist, which, **_office()), fmt, name)
    sheet = lists.recipients_sheet(dist) if kind == "penerima" else lists.non_recipients_sheet(dist)
    return _send(spreadsheets.write(sheet, fmt), fmt, name)


@bp.get("/laporan/cakupan.<fmt>")
@admin_required
@personal_data("coverage", nik=FULL)
def coverage_export(fmt: str):
    """The coverage report (full NIK and phone: admins only) for the filters in the query string,
    as ``xlsx`` or ``csv``."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    day = today_jakarta()
    sheet = coverage_report.coverage_sheet(day, _coverage_filter())
    sheet = replace(sheet, rows=count_rows(sheet.rows))
    return _send(spreadsheets.write(sheet, fmt), fmt, f"cakupan-{day.isoformat()}")


def _audit_filter() -> audit_trail.AuditFilter:
    return audit_trail.AuditFilter(
        staff_id=_int_arg("petugas", 1, 2**31 - 1),
        entity_type=(request.args.get("jenis") or "").strip()[:40],
        entity_id=_int_arg("id", 0, 2**31 - 1),
        date_from=_date_arg("dari"),
        date_to=_date_arg("sampai"),
    )


@bp.get("/laporan/audit")
@admin_required
def audit():
    """The audit trail: who did what, when, on which record, with before/after; filterable."""
    filters = _audit_filter()
    page = _int_arg("halaman", 1, 100_000) or 1
    per_page = 50
    events, total = audit_trail.audit_page(filters, page, per_page)
    return render_template(
        "dashboard/audit.html",
        filters=filters,
        events=events,
        total=total,
        page=page,
        pages=max((total + per_page - 1) // per_page, 1),
        staff_choices=audit_trail.audit_staff_choices(),
        type_choices=audit_trail.audit_entity_types(),
        query={k: v for k, v in request.args.items() if k != "halaman" and v},
    )


@bp.get("/laporan/audit.<fmt>")
@admin_required
@personal_data("audit", nik=FULL)
def audit_export(fmt: str):
    """The filtered audit trail as ``xlsx`` or ``csv``."""
    if fmt not in ("xlsx", "csv"):
        abort(404)
    sheet = audit_trail.audit_sheet(_audit_filter())
    sheet = replace(sheet, rows=count_rows(sheet.rows))
    return _send(spreadsheets.write(sheet, fmt), fmt, f"audit-{today_jakarta().isoformat()}")
