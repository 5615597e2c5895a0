"""Reports the office files and reads: the BAST (*Berita Acara Serah Terima*, the handover report
of a distribution), recipient and non-recipient lists, the coverage report, dashboard figures and
the server-side SVG charts, and the audit trail query.

Everything here is plain functions over the database session: no ``request``. Figures are
aggregated in SQL so they stay cheap at 100,000 workers. Documents are built as ``Sheet`` tables
(title, columns, rows) that render to PDF (reportlab), XLSX (openpyxl) or CSV alike.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from .i18n import _l
from markupsafe import Markup
from sqlalchemy import and_, case, func, literal_column, select

from .coverage import today_jakarta
from .extensions import db
from .models import (
    AuditEvent,
    Card,
    Collection,
    Coverage,
    Device,
    Distribution,
    DistributionListEntry,
    Staff,
    Worker,
)
from .nik import mask_nik
from .wilayah import kecamatan_by_code

JAKARTA = ZoneInfo("Asia/Jakarta")
STATUSES = ("aktif", "belum_aktif", "berakhir", "tanpa")
STATUS_TEXT_ID = {
    "aktif": "Aktif",
    "belum_aktif": "Belum aktif",
    "berakhir": "Berakhir",
    "tanpa": "Belum terdaftar",
}
STATUS_LABELS = {
    "aktif": _l("Aktif"),
    "belum_aktif": _l("Belum aktif"),
    "berakhir": _l("Berakhir"),
    "tanpa": _l("Belum terdaftar"),
}


def _id(text: str, **values: Any) -> str:
    """Document text: the office files its documents in Bahasa Indonesia whatever the language
    of the screen, so this is the msgid itself, never translated."""
    return text % values if values else text


# ---- small helpers shared by every document --------------------------------------------------

def kecamatan_name(code: str | None) -> str:
    """The name of a kecamatan by its 6-digit code, or the code when it is unknown."""
    if not code:
        return ""
    found = kecamatan_by_code(code)
    return found.name if found is not None else code


def hari_tanggal(day: date) -> str:
    """A day with its weekday in Indonesian: "Selasa, 24 November 2026"."""
    return babel_format_date(day, "EEEE, d MMMM y", locale="id")


def tanggal_panjang(day: date) -> str:
    """A date in Indonesian: "24 November 2026"."""
    return babel_format_date(day, "d MMMM y", locale="id")


def jam(moment: datetime | None) -> str:
    """The Asia/Jakarta clock time of a UTC moment: "10.32"."""
    if moment is None:
        return ""
    return moment.astimezone(JAKARTA).strftime("%H.%M")


def jakarta_day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """UTC bounds [start of ``first``, start of the day after ``last``) of Jakarta days."""
    start = datetime.combine(first, time(0), JAKARTA).astimezone(timezone.utc) if first else None
    end = (
        datetime.combine(last + timedelta(days=1), time(0), JAKARTA).astimezone(timezone.utc)
        if last
        else None
    )
    return start, end


def _parse_moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# ---- tables that render to PDF, XLSX and CSV ---------------------------------------------------

@dataclass
class Sheet:
    """A titled table: what the XLSX/CSV/PDF writers take."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is kept as text (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def sheet_csv(sheet: Sheet) -> bytes:
    """The sheet as UTF-8 CSV with a BOM (Excel then reads the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c) for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_xlsx(sheet: Sheet) -> bytes:
    """The sheet as an XLSX workbook: a bold, frozen header row and one row per record."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(str(sheet.title)[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in sheet.columns:
        cell = WriteOnlyCell(ws, value=str(name))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in sheet.rows:
        ws.append([_safe_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---- recipients and non-recipients of a distribution ------------------------------------------

@dataclass
class Recipient:
    """One package handed over: who, when, where, through whom."""

    seq: int
    name: str
    nik_masked: str
    desa: str
    collected_at: datetime | None
    station: str
    proxy: str


@dataclass
class NonRecipient:
    """An eligible worker who did not collect."""

    name: str
    nik_masked: str
    desa: str
    kecamatan: str


def _proxy_text(name: str | None, relation: str | None) -> str:
    if not name:
        return ""
    return f"{name} ({relation})" if relation else name


def recipients(distribution: Distribution) -> list[Recipient]:
    """The packages handed over, in sequence order: frozen at close-out when available, else live."""
    frozen = distribution.frozen_report or {}
    if frozen.get("recipients") is not None:
        rows = [
            Recipient(
                seq=int(r.get("seq") or 0),
                name=r.get("name") or "",
                nik_masked=r.get("nik_masked") or r.get("masked_nik") or mask_nik(r.get("nik")),
                desa=r.get("desa") or r.get("desa_name") or "",
                collected_at=_parse_moment(r.get("collected_at") or r.get("time")),
                station=r.get("station") or ((_id("Meja petugas")) if r.get("by_card") is False else ""),
                proxy=r.get("proxy") if isinstance(r.get("proxy"), str) else _proxy_text(
                    r.get("proxy_name"), r.get("proxy_relation")
                ),
            )
            for r in frozen["recipients"]
        ]
        return sorted(rows, key=lambda r: r.seq)
    query = (
        select(
            Collection.seq,
            Worker.name,
            Worker.nik,
            Worker.desa_name,
            Collection.collected_at,
            Collection.station,
            Device.name,
            Collection.staff_id,
            Collection.proxy_name,
            Collection.proxy_relation,
        )
        .join(Worker, Worker.id == Collection.worker_id)
        .outerjoin(Device, Device.id == Collection.device_id)
        .where(Collection.distribution_id == distribution.id, Collection.voided_at.is_(None))
        .order_by(Collection.seq)
    )
    out = []
    for seq, name, nik, desa, at, station, device, staff_id, proxy_name, proxy_relation in db.session.execute(query):
        where = station or device or ((_id("Meja petugas")) if staff_id else "")
        out.append(Recipient(seq, name, mask_nik(nik), desa or "", at, where, _proxy_text(proxy_name, proxy_relation)))
    return out


def _eligible_worker_ids(distribution: Distribution):
    """A SELECT of the ids of the workers eligible for ``distribution``."""
    if distribution.eligibility == "list":
        return select(DistributionListEntry.worker_id).where(
            DistributionListEntry.distribution_id == distribution.id
        )
    return select(Coverage.worker_id).where(
        Coverage.start_date <= distribution.day, Coverage.end_date >= distribution.day
    )


def non_recipients(distribution: Distribution) -> list[NonRecipient]:
    """Eligible workers who did not collect (frozen at close-out when available, else live)."""
    frozen = distribution.frozen_report or {}
    if frozen.get("non_recipients") is not None:
        return [
            NonRecipient(
                name=r.get("name") or "",
                nik_masked=r.get("nik_masked") or r.get("masked_nik") or mask_nik(r.get("nik")),
                desa=r.get("desa") or r.get("desa_name") or "",
                kecamatan=r.get("kecamatan") or kecamatan_name(r.get("kecamatan_code")),
            )
            for r in frozen["non_recipients"]
        ]
    collected = select(Collection.worker_id).where(
        Collection.distribution_id == distribution.id, Collection.voided_at.is_(None)
    )
    query = (
        select(Worker.name, Worker.nik, Worker.desa_name, Worker.kecamatan_code)
        .where(Worker.id.in_(_eligible_worker_ids(distribution)), Worker.id.not_in(collected))
        .order_by(Worker.kecamatan_code, Worker.desa_name, Worker.name)
    )
    return [
        NonRecipient(name, mask_nik(nik), desa or "", kecamatan_name(kec))
        for name, nik, desa, kec in db.session.execute(query)
    ]


def recipients_sheet(distribution: Distribution) -> Sheet:
    """The recipient list as a table (for XLSX/CSV)."""
    columns = [str(c) for c in (_id("No."), _id("No. paket"), _id("Nama"), _id("NIK"), _id("Desa"),
                                 _id("Tanggal"), _id("Waktu"), _id("Tempat/Stasiun"), _id("Diwakilkan"))]
    rows = [
        [i, r.seq, r.name, r.nik_masked, r.desa,
         r.collected_at.astimezone(JAKARTA).date().isoformat() if r.collected_at else "",
         jam(r.collected_at), r.station, r.proxy]
        for i, r in enumerate(recipients(distribution), 1)
    ]
    return Sheet((_id("Penerima")), columns, rows)


def non_recipients_sheet(distribution: Distribution) -> Sheet:
    """The non-recipient list as a table (for XLSX/CSV)."""
    columns = [str(c) for c in (_id("No."), _id("Nama"), _id("NIK"), _id("Desa"), _id("Kecamatan"))]
    rows = [[i, r.name, r.nik_masked, r.desa, r.kecamatan] for i, r in enumerate(non_recipients(distribution), 1)]
    return Sheet((_id("Belum menerima")), columns, rows)


# ---- coverage report ---------------------------------------------------------------------------

def _coverage_per_worker(day: date):
    """Per covered worker, from one pass over ``coverage`` (grouped on its worker index):
    ``active`` (1 when a period covers ``day``), ``future`` (1 when a period starts later),
    ``last_end`` (the last end of any period), ``active_end`` and ``contribution`` of the active
    period(s). Workers with no coverage at all have no row."""
    covers = and_(Coverage.start_date <= day, Coverage.end_date >= day)
    return (
        select(
            Coverage.worker_id.label("worker_id"),
            func.max(case((covers, 1), else_=0)).label("active"),
            func.max(case((Coverage.start_date > day, 1), else_=0)).label("future"),
            func.max(Coverage.end_date).label("last_end"),
            func.max(case((covers, Coverage.end_date), else_=None)).label("active_end"),
            func.max(case((covers, Coverage.monthly_contribution), else_=0)).label("contribution"),
        )
        .group_by(Coverage.worker_id)
        .subquery()
    )


def _status_of(per):
    """The status code of a worker from its ``_coverage_per_worker`` row (NULL row: "tanpa")."""
    # Inline constants, not bind parameters: PostgreSQL then types the CASE as text by itself.
    return case(
        (per.c.active == 1, literal_column("'aktif'")),
        (per.c.future == 1, literal_column("'belum_aktif'")),
        (per.c.worker_id.is_not(None), literal_column("'berakhir'")),
        else_=literal_column("'tanpa'"),
    )


def _ending_soon(per, day: date, within: int):
    """True for an active worker whose coverage ends within ``within`` days with no renewal
    (a later period) already in place."""
    return and_(per.c.active == 1, per.c.future == 0, per.c.active_end <= day + timedelta(days=within))


@dataclass
class StatusCount:
    """How many workers of one group (a kecamatan, an occupation) are in each status."""

    key: str
    label: str
    aktif: int = 0
    belum_aktif: int = 0
    berakhir: int = 0
    tanpa: int = 0
    ending_soon: int = 0

    @property
    def total(self) -> int:
        return self.aktif + self.belum_aktif + self.berakhir + self.tanpa


def coverage_summary(day: date | None = None, by: str = "kecamatan", ending_within: int = 14) -> list[StatusCount]:
    """Workers per status, grouped by ``kecamatan`` or ``occupation``, with how many active
    coverages end within ``ending_within`` days without a renewal (to renew). Sorted by label.

    Two aggregate queries (covered workers by status; all workers), never a loop over workers."""
    day = day or today_jakarta()
    per = _coverage_per_worker(day)
    column = Worker.kecamatan_code if by == "kecamatan" else Worker.occupation
    status = _status_of(per)
    counts = [func.sum(case((status == code, 1), else_=0)) for code in STATUSES[:3]]
    ending = func.sum(case((_ending_soon(per, day, ending_within), 1), else_=0))
    covered = {
        key: row for key, *row in db.session.execute(
            select(column, *counts, ending).select_from(per).join(Worker, Worker.id == per.c.worker_id).group_by(column)
        )
    }
    out = []
    for key, total in db.session.execute(select(column, func.count(Worker.id)).group_by(column)):
        aktif, belum, berakhir, ending_n = (int(v or 0) for v in covered.get(key, (0, 0, 0, 0)))
        label = kecamatan_name(key) if by == "kecamatan" else (key or _id("(tidak diisi)"))
        out.append(StatusCount(key or "", label, aktif, belum, berakhir, int(total) - aktif - belum - berakhir, ending_n))
    return sorted(out, key=lambda s: s.label.lower())


@dataclass
class CoverageFilter:
    """What the coverage report lists: a status, coverage ending within N days, a kecamatan, an
    occupation (each optional)."""

    status: str = ""
    ending_within: int | None = None
    kecamatan_code: str = ""
    occupation: str = ""


def coverage_query(day: date, filters: CoverageFilter):
    """The SELECT behind the coverage report: one row per worker matching ``filters``."""
    per = _coverage_per_worker(day)
    status = _status_of(per)
    query = (
        select(Worker.nik, Worker.kpj, Worker.name, Worker.kecamatan_code, Worker.desa_name,
               Worker.occupation, Worker.phone, status.label("status"), per.c.last_end)
        .select_from(Worker)
        .outerjoin(per, per.c.worker_id == Worker.id)
        .order_by(Worker.kecamatan_code, Worker.desa_name, Worker.name, Worker.id)
    )
    if filters.status in STATUSES:
        query = query.where(status == filters.status)
    if filters.ending_within is not None:
        query = query.where(_ending_soon(per, day, filters.ending_within))
    if filters.kecamatan_code:
        query = query.where(Worker.kecamatan_code == filters.kecamatan_code)
    if filters.occupation:
        query = query.where(Worker.occupation == filters.occupation)
    return query


def coverage_count(day: date, filters: CoverageFilter) -> int:
    """How many workers the coverage report lists for ``filters``."""
    return db.session.scalar(select(func.count()).select_from(coverage_query(day, filters).order_by(None).subquery())) or 0


def coverage_sheet(day: date | None, filters: CoverageFilter) -> Sheet:
    """The coverage report (who is covered, until when, days left) as a table for XLSX/CSV."""
    day = day or today_jakarta()
    columns = [str(c) for c in (_id("No."), _id("NIK"), _id("KPJ"), _id("Nama"), _id("Kecamatan"), _id("Desa"),
                                 _id("Pekerjaan"), _id("Telepon"), _id("Status"), _id("Berakhir"), _id("Sisa hari"))]
    rows = []
    for i, (nik, kpj, name, kec, desa, occupation, phone, status, last_end) in enumerate(
        db.session.execute(coverage_query(day, filters)), 1
    ):
        days_left = (last_end - day).days if status == "aktif" and last_end else None
        rows.append([i, nik, kpj or "", name, kecamatan_name(kec), desa or "", occupation or "", phone or "",
                     STATUS_TEXT_ID[status], last_end.isoformat() if last_end else "", days_left])
    return Sheet((_id("Cakupan")), columns, rows)


def occupations() -> list[str]:
    """The occupations workers declared, for the report filter."""
    return [o for o in db.session.scalars(select(Worker.occupation).distinct().order_by(Worker.occupation)) if o]


def kecamatan_codes() -> list[tuple[str, str]]:
    """(code, name) of the kecamatan that have workers, by name."""
    codes = db.session.scalars(select(Worker.kecamatan_code).distinct())
    return sorted(((c, kecamatan_name(c)) for c in codes if c), key=lambda cn: cn[1].lower())


# ---- dashboard figures -------------------------------------------------------------------------

@dataclass
class DistributionFigures:
    """The state of one distribution for the dashboard."""

    id: int
    name: str
    day: date
    status: str
    total: int
    given: int

    @property
    def left(self) -> int:
        return self.total - self.given


@dataclass
class DashboardFigures:
    """The numbers on the staff home page."""

    day: date
    workers: int
    active: int
    ending_soon: int
    cards: int
    monthly_contribution: int
    distribution: DistributionFigures | None


def current_distribution() -> Distribution | None:
    """The distribution the dashboard follows: the open one (latest day first), else the latest closed."""
    order = (
        case((Distribution.status == "open", 0), (Distribution.status == "closed", 1), else_=2),
        Distribution.day.desc(),
        Distribution.id.desc(),
    )
    return db.session.scalars(
        select(Distribution).where(Distribution.status.in_(("open", "closed"))).order_by(*order).limit(1)
    ).first()


def coverage_figures(day: date | None = None, ending_within: int = 14) -> tuple[int, int, int, int]:
    """(enrolled workers, workers covered on ``day``, of them ending within ``ending_within``
    days without a renewal, the monthly contribution of the active periods) — aggregate SQL."""
    day = day or today_jakarta()
    per = _coverage_per_worker(day)
    workers = db.session.scalar(select(func.count(Worker.id))) or 0
    active, ending, contribution = db.session.execute(
        select(
            func.coalesce(func.sum(per.c.active), 0),
            func.coalesce(func.sum(case((_ending_soon(per, day, ending_within), 1), else_=0)), 0),
            func.coalesce(func.sum(per.c.contribution), 0),
        ).select_from(per)
    ).one()
    return int(workers), int(active), int(ending), int(contribution)


def distribution_figures() -> DistributionFigures | None:
    """The packages of the distribution the dashboard follows (one row: cheap to poll)."""
    dist = current_distribution()
    if dist is None:
        return None
    return DistributionFigures(dist.id, dist.name, dist.day, dist.status, dist.packages_total, dist.packages_given)


def valid_cards() -> int:
    """How many cards are valid (not revoked)."""
    return db.session.scalar(select(func.count(Card.id)).where(Card.revoked_at.is_(None))) or 0


def dashboard_figures(day: date | None = None, ending_within: int = 14) -> DashboardFigures:
    """Enrolled workers, active coverage on ``day`` (Jakarta), coverage ending soon, valid cards,
    the monthly contribution being paid, and the followed distribution's packages."""
    day = day or today_jakarta()
    workers, active, ending, contribution = coverage_figures(day, ending_within)
    return DashboardFigures(day, workers, active, ending, valid_cards(), contribution, distribution_figures())


def collections_per_hour(distribution: Distribution) -> list[tuple[int, int]]:
    """(hour in Asia/Jakarta, packages handed out in that hour) for the distribution's day, every
    hour from the first to the last (at least 08–16), zero-filled."""
    moments = db.session.scalars(
        select(Collection.collected_at).where(
            Collection.distribution_id == distribution.id, Collection.voided_at.is_(None)
        )
    )
    counts: dict[int, int] = {}
    for moment in moments:  # at most packages_total rows: one distribution, not every worker
        hour = moment.astimezone(JAKARTA).hour
        counts[hour] = counts.get(hour, 0) + 1
    first = min([8, *counts])
    last = max([16, *counts])
    return [(h, counts.get(h, 0)) for h in range(first, last + 1)]


# ---- SVG charts --------------------------------------------------------------------------------

# Fills that stay distinct in black-and-white print: solid, dots, hatch, outline only.
_STATUS_FILL = {
    "aktif": "#0b6b2f",
    "belum_aktif": "url(#pat-belum)",
    "berakhir": "url(#pat-berakhir)",
    "tanpa": "#ffffff",
}


def _svg(width: int, height: int, title: str, desc: str, css_class: str) -> ET.Element:
    root = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg",
        "viewBox": f"0 0 {width} {height}",
        "width": "100%",
        "role": "img",
        "class": css_class,
        "font-family": "system-ui, sans-serif",
        "font-size": "13",
    })
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "desc").text = desc
    return root


def _svg_markup(root: ET.Element, id_: str) -> Markup:
    root.set("aria-labelledby", f"{id_}-title {id_}-desc")
    root.find("title").set("id", f"{id_}-title")
    root.find("desc").set("id", f"{id_}-desc")
    # ElementTree escapes every text and attribute: names from the database are safe here.
    return Markup(ET.tostring(root, encoding="unicode"))


def _patterns(root: ET.Element) -> None:
    defs = ET.SubElement(root, "defs")
    dots = ET.SubElement(defs, "pattern", {"id": "pat-belum", "width": "6", "height": "6", "patternUnits": "userSpaceOnUse"})
    ET.SubElement(dots, "rect", {"width": "6", "height": "6", "fill": "#fff2d6"})
    ET.SubElement(dots, "circle", {"cx": "3", "cy": "3", "r": "1.5", "fill": "#7a4b00"})
    hatch = ET.SubElement(defs, "pattern", {"id": "pat-berakhir", "width": "6", "height": "6",
                                            "patternUnits": "userSpaceOnUse", "patternTransform": "rotate(45)"})
    ET.SubElement(hatch, "rect", {"width": "6", "height": "6", "fill": "#fde6e7"})
    ET.SubElement(hatch, "line", {"x1": "0", "y1": "0", "x2": "0", "y2": "6", "stroke": "#a1121b", "stroke-width": "3"})


def coverage_bars_svg(rows: Sequence[StatusCount], id_: str = "chart-kecamatan") -> Markup:
    """Stacked horizontal bars: workers per coverage status for each kecamatan, with the numbers
    written beside each bar and a legend (patterns, not colour alone)."""
    label_w, bar_w, number_w, row_h, top = 170, 420, 130, 26, 40
    width = label_w + bar_w + number_w
    height = top + row_h * max(len(rows), 1) + 10
    peak = max([r.total for r in rows] + [1])
    total_active = sum(r.aktif for r in rows)
    total = sum(r.total for r in rows)
    root = _svg(width, height, str(_l("Status cakupan per kecamatan")),
                str(_l("%(active)s dari %(total)s pekerja aktif, di %(n)s kecamatan.",
                       active=total_active, total=total, n=len(rows))), "chart chart-bars")
    _patterns(root)
    legend_x = 0
    for code in STATUSES:
        g = ET.SubElement(root, "g", {"class": f"legend legend-{code}"})
        ET.SubElement(g, "rect", {"x": str(legend_x), "y": "8", "width": "16", "height": "16",
                                  "fill": _STATUS_FILL[code], "stroke": "#14231c", "stroke-width": "1"})
        label = str(STATUS_LABELS[code])
        ET.SubElement(g, "text", {"x": str(legend_x + 22), "y": "21"}).text = label
        legend_x += 34 + 8 * len(label)
    if not rows:
        ET.SubElement(root, "text", {"x": "0", "y": str(top + 18)}).text = str(_l("Belum ada pekerja terdaftar."))
    for i, row in enumerate(rows):
        y = top + i * row_h
        g = ET.SubElement(root, "g", {"class": "bar-row"})
        ET.SubElement(g, "title").text = "{}: {}".format(row.label, ", ".join(
            f"{STATUS_LABELS[c]} {getattr(row, c)}" for c in STATUSES))
        ET.SubElement(g, "text", {"x": str(label_w - 8), "y": str(y + 17), "text-anchor": "end"}).text = row.label
        x = float(label_w)
        for code in STATUSES:
            value = getattr(row, code)
            if not value:
                continue
            w = bar_w * value / peak
            ET.SubElement(g, "rect", {"x": f"{x:.1f}", "y": str(y + 4), "width": f"{max(w, 1):.1f}",
                                      "height": str(row_h - 8), "fill": _STATUS_FILL[code],
                                      "stroke": "#14231c", "stroke-width": "0.75", "class": f"seg seg-{code}"})
            x += w
        ET.SubElement(g, "text", {"x": f"{x + 6:.1f}", "y": str(y + 17), "class": "bar-value"}).text = (
            f"{row.aktif} / {row.total}"
        )
    return _svg_markup(root, id_)


def collections_line_svg(points: Sequence[tuple[int, int]], id_: str = "chart-jam") -> Markup:
    """A line of packages handed out per hour (Asia/Jakarta), each point labelled with its count."""
    width, height, left, right, top, bottom = 720, 260, 44, 30, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([c for _, c in points] + [1])
    total = sum(c for _, c in points)
    busiest = max(points, key=lambda p: p[1]) if points and total else None
    desc = str(_l("%(total)s paket diserahkan.", total=total))
    if busiest:
        desc += " " + str(_l("Paling ramai pukul %(hour)s.00 (%(count)s paket).", hour=f"{busiest[0]:02d}",
                              count=busiest[1]))
    root = _svg(width, height, str(_l("Paket diserahkan per jam")), desc, "chart chart-line")
    axis = ET.SubElement(root, "g", {"class": "axis"})
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        ET.SubElement(axis, "line", {"x1": str(left), "x2": str(width - right), "y1": f"{y:.1f}", "y2": f"{y:.1f}",
                                     "stroke": "#c9d3ce", "stroke-width": "1"})
        ET.SubElement(axis, "text", {"x": str(left - 6), "y": f"{y + 4:.1f}", "text-anchor": "end"}).text = str(
            round(peak * frac))
    n = max(len(points) - 1, 1)
    coords = []
    for i, (hour, count) in enumerate(points):
        x = left + plot_w * i / n
        y = top + plot_h * (1 - count / peak)
        coords.append((x, y, hour, count))
        ET.SubElement(axis, "text", {"x": f"{x:.1f}", "y": str(height - bottom + 18), "text-anchor": "middle"}).text = (
            f"{hour:02d}.00")
    if coords:
        ET.SubElement(root, "polyline", {"points": " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords),
                                         "fill": "none", "stroke": "#004d2d", "stroke-width": "3",
                                         "class": "line"})
    for x, y, hour, count in coords:
        g = ET.SubElement(root, "g", {"class": "point"})
        ET.SubElement(g, "title").text = str(_l("Pukul %(hour)s.00: %(count)s paket", hour=f"{hour:02d}", count=count))
        ET.SubElement(g, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": "4", "fill": "#ffffff",
                                    "stroke": "#004d2d", "stroke-width": "2"})
        if count:
            ET.SubElement(g, "text", {"x": f"{x:.1f}", "y": f"{y - 9:.1f}", "text-anchor": "middle",
                                      "font-weight": "700"}).text = str(count)
    ET.SubElement(root, "text", {"x": str(left), "y": str(height - 4), "class": "axis-label"}).text = str(
        _l("Jam (WIB)"))
    return _svg_markup(root, id_)


# ---- audit trail -------------------------------------------------------------------------------

@dataclass
class AuditFilter:
    """Which audit events to list: by staff member, record type and id, Jakarta date range."""

    staff_id: int | None = None
    entity_type: str = ""
    entity_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def audit_query(filters: AuditFilter):
    """The SELECT of audit events matching ``filters``, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.staff_id:
        query = query.where(AuditEvent.staff_id == filters.staff_id)
    if filters.entity_type:
        query = query.where(AuditEvent.entity_type == filters.entity_type)
    if filters.entity_id is not None:
        query = query.where(AuditEvent.entity_id == filters.entity_id)
    start, end = jakarta_day_bounds(filters.date_from, filters.date_to)
    if start:
        query = query.where(AuditEvent.at >= start)
    if end:
        query = query.where(AuditEvent.at < end)
    return query


def audit_page(filters: AuditFilter, page: int = 1, per_page: int = 50) -> tuple[list[AuditEvent], int]:
    """One page of matching audit events (with their staff loaded) and the number of matches."""
    from sqlalchemy.orm import selectinload

    query = audit_query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_query = query.options(selectinload(AuditEvent.staff)).limit(per_page).offset((max(page, 1) - 1) * per_page)
    events = list(db.session.scalars(page_query))
    return events, total


def audit_entity_types() -> list[str]:
    """The record types present in the audit trail, for the filter."""
    return list(db.session.scalars(select(AuditEvent.entity_type).distinct().order_by(AuditEvent.entity_type)))


def audit_staff_choices() -> list[tuple[int, str]]:
    """(id, name) of every staff account, for the filter."""
    return [(s.id, s.full_name or s.username) for s in db.session.scalars(select(Staff).order_by(Staff.username))]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def audit_sheet(filters: AuditFilter, limit: int = 100_000) -> Sheet:
    """The matching audit events as a table for XLSX/CSV (times in Asia/Jakarta)."""
    columns = [str(c) for c in (_id("Waktu (WIB)"), _id("Petugas"), _id("Perangkat"), _id("Aksi"), _id("Jenis data"),
                                 _id("ID data"), _id("Sebelum"), _id("Sesudah"))]
    query = (
        audit_query(filters)
        .with_only_columns(AuditEvent.at, Staff.username, AuditEvent.device_id, AuditEvent.action,
                           AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
        .outerjoin(Staff, Staff.id == AuditEvent.staff_id)
        .limit(limit)
    )
    rows = [
        [at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S"), username or "", device_id or "", action, etype,
         eid, _json(before), _json(after)]
        for at, username, device_id, action, etype, eid, before, after in db.session.execute(query)
    ]
    return Sheet((_id("Jejak audit")), columns, rows)


# ---- PDF documents -----------------------------------------------------------------------------

def _pdf_styles():
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    base = getSampleStyleSheet()["Normal"]
    return {
        "body": ParagraphStyle("body", parent=base, fontName="Helvetica", fontSize=10, leading=14),
        "small": ParagraphStyle("small", parent=base, fontName="Helvetica", fontSize=8, leading=10),
        "cellhead": ParagraphStyle("cellhead", parent=base, fontName="Helvetica-Bold", fontSize=8, leading=10),
        "kop1": ParagraphStyle("kop1", parent=base, fontName="Helvetica-Bold", fontSize=13, leading=16, alignment=TA_CENTER),
        "kop2": ParagraphStyle("kop2", parent=base, fontName="Helvetica-Bold", fontSize=15, leading=19, alignment=TA_CENTER),
        "kop3": ParagraphStyle("kop3", parent=base, fontSize=9, leading=11, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontName="Helvetica-Bold", fontSize=13, leading=17,
                                alignment=TA_CENTER, spaceBefore=8),
        "center": ParagraphStyle("center", parent=base, fontName="Helvetica", fontSize=10, leading=14, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", parent=base, fontName="Helvetica", fontSize=10, leading=13, alignment=TA_CENTER),
    }


def _esc(text: Any) -> str:
    from xml.sax.saxutils import escape

    return escape("" if text is None else str(text))


def _numbered_canvas_class(footer_left: str):
    """A canvas that writes "Halaman X dari Y" on every page once the page count is known."""
    from reportlab.lib.units import cm
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 8)
                width = self._pagesize[0]
                self.drawString(2 * cm, 1.2 * cm, footer_left)
                self.drawRightString(width - 2 * cm, 1.2 * cm, str(
                    _id("Halaman %(page)s dari %(pages)s", page=self._pageNumber, pages=total)))
                super().showPage()
            super().save()

    return NumberedCanvas


def _letterhead(styles, office: str, regency: str, address: str = "") -> list:
    from reportlab.platypus import HRFlowable, Paragraph, Spacer

    lines = [line for line in address.splitlines() if line.strip()]
    return [
        Paragraph(_esc(("Pemerintah " + regency).upper()), styles["kop1"]),
        Paragraph(_esc(office.upper()), styles["kop2"]),
        *[Paragraph(_esc(line), styles["kop3"]) for line in lines],
        Spacer(1, 4),
        HRFlowable(width="100%", thickness=2, color="#000000", spaceBefore=2, spaceAfter=1),
        HRFlowable(width="100%", thickness=0.5, color="#000000", spaceBefore=0, spaceAfter=10),
    ]


def _grid_table(data, widths, repeat=1, extra_styles=(), row_heights=None):
    from reportlab.lib import colors
    from reportlab.platypus import LongTable

    table = LongTable(data, colWidths=widths, rowHeights=row_heights, repeatRows=repeat)
    table.setStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, repeat - 1), colors.HexColor("#dddddd")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        *extra_styles,
    ])
    return table


def _dots(value: str, n: int = 30) -> str:
    return value if value else "." * n


def bast_pdf(distribution: Distribution, office: str = "Dinas Ketenagakerjaan",
             regency: str = "Kabupaten Muara Enim", address: str = "") -> bytes:
    """The BAST (handover report) of ``distribution`` as an A4 PDF: letterhead, number and date,
    what was handed over, the recipient table (header repeated on each page), packages left,
    signature blocks for the official, the receiver and two witnesses; "Halaman X dari Y"."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

    styles = _pdf_styles()
    usable = A4[0] - 4 * cm - 12  # the frame's width inside its 6 pt padding
    people = recipients(distribution)
    given = len(people)
    left = distribution.packages_total - given
    missing = len(non_recipients(distribution))
    p = lambda text, style="body": Paragraph(text, styles[style])  # noqa: E731

    story = _letterhead(styles, office, regency, address)
    story += [
        Paragraph("<u>BERITA ACARA SERAH TERIMA</u>", styles["title"]),
        p(_esc(_id("Nomor: %(number)s", number=_dots(distribution.bast_number, 40))), "center"),
    ]
    if distribution.status != "closed":
        # Printed while still open: say so, so a provisional copy is never filed as the final one.
        story.append(p("<b>%s</b>" % _esc(_id("SEMENTARA — penyaluran belum ditutup")), "center"))
    story += [
        Spacer(1, 10),
        p(_esc(_id(
            "Pada hari ini, %(day)s, bertempat di %(place)s, telah dilaksanakan serah terima bantuan "
            "paket sembako dalam rangka %(name)s, dari pihak yang menyerahkan kepada para penerima "
            "sebagaimana tercantum dalam daftar di bawah ini.",
            day=hari_tanggal(distribution.day), place=distribution.place or "-", name=distribution.name))),
        Spacer(1, 6),
    ]
    summary = [
        [_id("Barang yang diserahkan"), ":", _id("%(n)s paket sembako", n=given)],
        [_id("Isi setiap paket"), ":", distribution.contents or "-"],
        [_id("Jumlah paket tersedia"), ":", _id("%(n)s paket", n=distribution.packages_total)],
        [_id("Paket diserahkan"), ":", _id("%(n)s paket kepada %(n)s penerima", n=given)],
        [_id("Sisa paket"), ":", _id("%(n)s paket", n=left)],
        [_id("Penerima yang belum mengambil"), ":", _id("%(n)s orang", n=missing)],
    ]
    story.append(Table([[p(_esc(a)), p(b), p(_esc(c))] for a, b, c in summary],
                       colWidths=[5.8 * cm, 0.4 * cm, usable - 6.2 * cm],
                       style=[("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 0),
                              ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    story.append(Spacer(1, 8))
    story.append(p("<b>%s</b>" % _esc(_id("Daftar penerima"))))
    story.append(Spacer(1, 4))
    heads = [_id("No."), _id("Nama"), _id("NIK"), _id("Desa"), _id("Waktu"), _id("Tempat/ Stasiun"),
             _id("Diwakilkan"), _id("No. paket")]
    data = [[Paragraph(_esc(h), styles["cellhead"]) for h in heads]]
    for i, r in enumerate(people, 1):
        data.append([str(i), Paragraph(_esc(r.name), styles["small"]), r.nik_masked,
                     Paragraph(_esc(r.desa), styles["small"]), jam(r.collected_at),
                     Paragraph(_esc(r.station), styles["small"]), Paragraph(_esc(r.proxy), styles["small"]),
                     str(r.seq)])
    if not people:
        data.append(["", Paragraph(_esc(_id("Belum ada paket yang diserahkan.")), styles["small"]), "", "", "", "", "", ""])
    widths = [0.9, 3.7, 3.1, 2.6, 1.2, 2.2, 2.2, 1.1]
    story.append(_grid_table(data, [usable * w / sum(widths) for w in widths], extra_styles=[
        ("FONTNAME", (0, 1), (-1, -1), "Helvetica"), ("FONTSIZE", (0, 1), (-1, -1), 8),
        ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (-1, 1), (-1, -1), "RIGHT"),
    ]))
    story.append(Spacer(1, 10))
    closing = p(_esc(_id(
        "Sisa paket sebanyak %(left)s paket tetap disimpan oleh %(office)s. Demikian berita acara ini "
        "dibuat dengan sebenarnya untuk dipergunakan sebagaimana mestinya.", left=left, office=office)))

    def signer(role: str, name: str, lines: list[str], above: str = "") -> list:
        # Every block starts with the same number of lines, so the names line up across columns.
        block = [p(_esc(above) if above else "&nbsp;", "sign"), p(_esc(role), "sign"), Spacer(1, 48),
                 p("<b><u>%s</u></b>" % _esc(_dots(name)), "sign")]
        block += [p(_esc(line), "sign") for line in lines if line]
        return block

    half = usable / 2
    place_date = "%s, %s" % (regency.replace("Kabupaten ", ""), tanggal_panjang(distribution.day))
    signatures = Table(
        [[signer(_id("Yang menerima,"), distribution.receiver_name, [distribution.receiver_title]),
          signer(_id("Yang menyerahkan,"), distribution.official_name,
                 [distribution.official_title,
                  _id("NIP %(nip)s", nip=distribution.official_nip) if distribution.official_nip else ""],
                 above=place_date)]],
        colWidths=[half, half],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP")],
    )
    witnesses = Table(
        [[p("<b>%s</b>" % _esc(_id("Saksi-saksi:")), "center"), ""],
         [signer(_id("Saksi I,"), distribution.witness1_name, []),
          signer(_id("Saksi II,"), distribution.witness2_name, [])]],
        colWidths=[half, half],
        style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("SPAN", (0, 0), (1, 0))],
    )
    story.append(KeepTogether([closing, Spacer(1, 10), signatures, Spacer(1, 10), witnesses]))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.6 * cm,
                            bottomMargin=2 * cm, title=f"BAST {distribution.name}", author=office,
                            subject=(_id("Berita Acara Serah Terima")))
    footer = "BAST %s · %s" % (distribution.bast_number or distribution.name, tanggal_panjang(distribution.day))
    doc.build(story, canvasmaker=_numbered_canvas_class(footer[:110]))
    return out.getvalue()


def list_pdf(distribution: Distribution, kind: str = "recipients", office: str = "Dinas Ketenagakerjaan",
             regency: str = "Kabupaten Muara Enim", address: str = "") -> bytes:
    """A list to sign by hand, A4: recipients (``kind="recipients"``) or eligible workers who did
    not collect (``kind="non_recipients"``), with a wide signature / thumbprint column."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = _pdf_styles()
    p = lambda text, style="body": Paragraph(text, styles[style])  # noqa: E731
    if kind == "recipients":
        title = _id("DAFTAR PENERIMA PAKET SEMBAKO")
        heads = [_id("No."), _id("Nama"), _id("NIK"), _id("Desa"), _id("No. paket"), _id("Waktu"),
                 _id("Tanda tangan / cap jempol")]
        widths = [0.9, 3.9, 3.1, 2.6, 1.2, 1.2, 4.1]
        rows = [[r.name, r.nik_masked, r.desa, str(r.seq), jam(r.collected_at)] for r in recipients(distribution)]
    else:
        title = _id("DAFTAR PESERTA YANG BELUM MENERIMA PAKET SEMBAKO")
        heads = [_id("No."), _id("Nama"), _id("NIK"), _id("Desa"), _id("Kecamatan"), _id("Tanda tangan / cap jempol")]
        widths = [0.9, 4.2, 3.1, 2.7, 2.6, 3.5]
        rows = [[r.name, r.nik_masked, r.desa, r.kecamatan] for r in non_recipients(distribution)]
    story = _letterhead(styles, office, regency, address)
    story += [
        p("<b>%s</b>" % _esc(title), "title"),
        p(_esc("%s · %s · %s" % (distribution.name, hari_tanggal(distribution.day), distribution.place or "-")), "center"),
        Spacer(1, 10),
    ]
    data = [[Paragraph(_esc(h), styles["cellhead"]) for h in heads]]
    for i, row in enumerate(rows, 1):
        cells = [str(i)] + [Paragraph(_esc(v), styles["small"]) for v in row]
        # The classic zig-zag of an Indonesian signing list: odd numbers left, even numbers right.
        cells.append(Paragraph(("%d. ......" % i) if i % 2 else ("&nbsp;" * 18 + "%d. ......" % i), styles["small"]))
        data.append(cells)
    if not rows:
        data.append([""] + [Paragraph(_esc(_id("Tidak ada data.")), styles["small"])] + [""] * (len(heads) - 2))
    # Rows 1.15 cm high: room to sign or press a thumb.
    usable = A4[0] - 4 * cm - 12
    story.append(_grid_table(data, [usable * w / sum(widths) for w in widths], row_heights=[None] + [1.15 * cm] * (len(data) - 1),
                             extra_styles=[("FONTSIZE", (0, 1), (-1, -1), 8), ("ALIGN", (0, 1), (0, -1), "RIGHT"),
                                           ("VALIGN", (0, 1), (-1, -1), "MIDDLE")]))
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.6 * cm,
                            bottomMargin=2 * cm, title=str(title), author=office)
    doc.build(story, canvasmaker=_numbered_canvas_class(f"{distribution.name} · {tanggal_panjang(distribution.day)}"[:110]))
    return out.getvalue()


def distributions_for_reports() -> list[Distribution]:
    """Distributions that have something to report (open or closed), latest first."""
    return list(db.session.scalars(
        select(Distribution).where(Distribution.status.in_(("open", "closed")))
        .order_by(Distribution.day.desc(), Distribution.id.desc())
    ))
