"""Import: 10,000- and 100,000-row XLSX files of workers through kiosk.imports, preview (every
row checked, nothing written) and commit (the accepted rows written in one transaction), on a
migrated SQLite database, in an app context. The files carry the template's own headers; the
rows are valid Muara Enim workers (the same NIKs as the other benchmarks). Goal (issue 3):
10,000 rows previewed in under 10 s.
"""

from __future__ import annotations

import io
import time

from . import dataset
from .common import BenchResult, Context

PREVIEW_GOAL_S = 10.0


def columns() -> list[tuple[str, str]]:
    """(key, header) of the import template's columns."""
    from kiosk.imports import HEADERS, TEMPLATE_KEYS

    return [(k, HEADERS[k]) for k in TEMPLATE_KEYS]


def _values(n: int, nik: str, sex: str, birth, kec, desas, today) -> dict:
    from kiosk.coverage import default_end

    return {
        "nik": nik, "name": f"{dataset.FIRST[n % 24]} {dataset.LAST[(n // 24) % 18]}", "sex": sex,
        "birth_place": "Muara Enim", "birth_date": birth, "address": f"Dusun {n % 9 + 1} RT {n % 20 + 1:03d}",
        "kecamatan": kec.name, "desa": desas[n % len(desas)].name if desas else "",
        "occupation": dataset.OCCUPATIONS[n % len(dataset.OCCUPATIONS)], "phone": f"0812{n % 10**8:08d}",
        "kpj": "", "income": 1_000_000 + (n % 20) * 100_000, "start": today, "end": default_end(today),
    }


_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Pekerja" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}


def _cell(value) -> str:
    from xml.sax.saxutils import escape

    if isinstance(value, bool) or value is None or value == "":
        return "<c/>"
    if isinstance(value, int):
        return f"<c><v>{value}</v></c>"
    if hasattr(value, "strftime"):
        value = value.strftime("%d-%m-%Y")  # dates as text, as many office lists have them
    return f'<c t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def make_xlsx(columns: list[tuple[str, str]], rows: int) -> bytes:
    """An XLSX workbook of ``rows`` valid Muara Enim workers (NIKs from dataset.NikMaker, the
    kecamatan column agreeing with the NIK, a desa of that kecamatan, a three-month coverage
    starting today). Written as SpreadsheetML directly (inline strings, dates as DD-MM-YYYY text):
    openpyxl's writer would take longer than the import being measured."""
    import zipfile

    from kiosk import wilayah

    make = dataset.NikMaker()
    today = dataset.today_jakarta()
    places = {}
    lines = ["<row>" + "".join(_cell(h) for _k, h in columns) + "</row>"]
    for n in range(rows):
        nik, sex, birth = make(n)
        code = nik[:6]
        if code not in places:
            places[code] = (wilayah.kecamatan_by_code(code), wilayah.desa_list(code))
        kec, desas = places[code]
        values = _values(n, nik, sex, birth, kec, desas, today)
        lines.append("<row>" + "".join(_cell(values.get(k, "")) for k, _h in columns) + "</row>")
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(lines) + "</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def run(ctx: Context) -> BenchResult:
    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.imports import MAX_ROWS, commit, preview

    result = BenchResult("imports")
    template_columns = columns()
    limit = MAX_ROWS
    sizes = ctx.size((10_000, 100_000), (1_000,))
    instance = dataset.make_instance(ctx, "imports")
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'kiosk.sqlite3'}"})
    result.raw = {"columns": template_columns, "max_rows": limit, "sizes": {}}
    for rows in sizes:
        t0 = time.perf_counter()
        data = make_xlsx(template_columns, rows)
        made = time.perf_counter() - t0
        raw = result.raw["sizes"][rows] = {"xlsx_bytes": len(data), "make_seconds": round(made, 2)}
        ctx.log(f"imports: {rows:,}-row XLSX made in {made:.1f} s ({len(data) / 1e6:.1f} MB)")
        with app.app_context():
            t0 = time.perf_counter()
            try:
                shown = preview(data, filename=f"pekerja-{rows}.xlsx")
            except Exception as error:  # noqa: BLE001 - a refused file is a result too
                took = time.perf_counter() - t0
                message = str(getattr(error, "message", error))
                raw.update(refused=message, preview_seconds=round(took, 2))
                result.add(f"{rows:,} rows: preview", "refused", note=f"after {took:.1f} s: {message}")
                db.session.remove()
                continue
            took = time.perf_counter() - t0
            counts = dict(shown.counts)
            reasons = sorted({str(m) for r in shown.rows if r.action == "refuse" for m in r.reasons})[:3]
            raw.update(preview_seconds=round(took, 2), counts=counts, refuse_reasons=reasons)
            goal = f"< {PREVIEW_GOAL_S:.0f} s" if rows == 10_000 else ""
            result.add(f"{rows:,} rows: preview", took, "s", goal=goal,
                       met=(took < PREVIEW_GOAL_S) if goal else None,
                       note=f"{counts}" + (f"; refused because: {reasons}" if reasons else ""))
            t0 = time.perf_counter()
            try:
                outcome = commit(shown, staff=None)
            except Exception as error:  # noqa: BLE001 - reported in the table
                took = time.perf_counter() - t0
                raw.update(commit_error=repr(error), commit_seconds=round(took, 2))
                result.add(f"{rows:,} rows: commit", f"failed: {type(error).__name__}", note=str(error)[:200])
                db.session.remove()
                continue
            took = time.perf_counter() - t0
            written = db.session.scalar(db.text("SELECT count(*) FROM worker"))
            raw.update(commit_seconds=round(took, 2), outcome=vars(outcome), workers_after=written)
            result.add(f"{rows:,} rows: commit", took, "s",
                       note=f"added {outcome.added:,}, updated {outcome.updated:,}, refused {outcome.refused:,}; "
                            f"{written:,} workers in the database; one transaction")
            db.session.remove()
    with app.app_context():
        db.engine.dispose()
    if any(n > limit for n in sizes):
        result.raw["note"] = f"kiosk.imports takes at most {limit:,} rows per file (MAX_ROWS)"
    return result
