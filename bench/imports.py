"""Import: XLSX files of workers through kiosk.imports, preview (every row checked, nothing
written) and commit (the accepted rows written in one transaction), on a migrated SQLite
database, in an app context. Goal (issue 16): any file within the limits previewed in ≤ 5 s on
this 2-core machine, memory bounded (≤ 200 MB extra, as issue 12 asks of any upload).

The files: an office's list as Excel writes it (make_office_xlsx: 15,000 rows, the size of the
5.35 MB list of issue 16, and MAX_ROWS rows), the template's own columns as inline strings
(10,000 rows, the earlier goal's file, and 100,000 rows, refused), the worst file the reader's
bounds let through (just under its element budget: MAX_ROWS rows of 52 numeric columns), and
the crafted spreadsheet bombs of tests/spreadsheet_bombs.py, each answered (refused or read).
Each preview gives its wall time, its CPU time (the machine is shared: the CPU time is what the
preview itself costs) and its peak extra resident memory (Linux: the peak is reset before).
"""

from __future__ import annotations

import io
import zipfile
import time
from datetime import date

from . import dataset
from .common import BenchResult, Context

PREVIEW_GOAL_S = 5.0
MEMORY_GOAL_MB = 200


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


def _plain_xlsx(rows: list[str]) -> bytes:
    """A one-sheet XLSX of ``rows`` (``<row>`` elements) with the template's other parts."""
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(rows) + "</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def make_xlsx(columns: list[tuple[str, str]], rows: int) -> bytes:
    """An XLSX workbook of ``rows`` valid Muara Enim workers (NIKs from dataset.NikMaker, the
    kecamatan column agreeing with the NIK, a desa of that kecamatan, a three-month coverage
    starting today). Written as SpreadsheetML directly (inline strings, dates as DD-MM-YYYY text):
    openpyxl's writer would take longer than the import being measured."""
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
    return _plain_xlsx(lines)


# ---- an office's list as Excel writes it -----------------------------------------------------------

_GIVEN = ("Ahmad", "Siti", "Budi", "Dewi", "Rudi", "Sri", "Agus", "Nur", "Hendra", "Yanti", "Eko", "Rina", "Joko",
          "Wati", "Dedi", "Ani", "Slamet", "Lestari", "Bambang", "Fitri", "Iwan", "Maya", "Rahmat", "Sari", "Muhammad",
          "Nurul", "Indah", "Heri", "Yusuf", "Ratna", "Zulkifli", "Herlina", "Syamsul", "Erni", "Darmawan", "Lina",
          "Firdaus", "Yuliana", "Supriadi", "Mega", "Asep", "Novi", "Arif", "Desi", "Taufik", "Rosmawati", "Hasan")
_MIDDLE = ("", "", "Nur", "Dwi", "Tri", "Eka", "Putri", "Adi", "Abdul", "Sri", "Ayu", "Budi", "Indra", "Rizki")
_FAMILY = ("Saputra", "Aminah", "Hidayat", "Wulandari", "Kurniawan", "Susanti", "Pratama", "Rahayu", "Setiawan",
           "Handayani", "Gunawan", "Purnamasari", "Nugroho", "Marlina", "Syahputra", "Yusuf", "Harahap", "Lubis",
           "Siregar", "Nasution", "Effendi", "Hasibuan", "Irawan", "Permata", "Sanjaya", "Wijaya", "Anggraini")
_STREETS = ("Jl. Merdeka", "Jl. Sudirman", "Jl. Lintas Sumatera", "Jl. Pramuka", "Jl. Kartini", "Jl. Bhayangkara",
            "Lr. Masjid", "Lr. Damai", "Jl. Pasar", "Jl. Lingkar", "Jl. Talang Jawa", "Jl. Padat Karya")
_MARRIED = ("Kawin", "Belum Kawin", "Cerai Hidup", "Cerai Mati")
_SCHOOL = ("SD", "SMP", "SMA", "SMK", "D3", "S1", "Tidak Sekolah")
_NOTES = ("", "", "", "Usulan kepala desa", "Data dari kelurahan", "Sudah ada KTP elektronik", "Pindahan",
          "Perlu verifikasi ulang", "Kelompok tani", "Anggota koperasi", "Kartu keluarga baru")
OFFICE_HEADERS = ("No", "NIK", "Nama Lengkap", "Jenis Kelamin", "Tempat Lahir", "Tanggal Lahir", "Alamat", "RT/RW",
                  "Desa/Kelurahan", "Kecamatan", "Pekerjaan", "No. HP", "No. KPJ", "Penghasilan per Bulan",
                  "Nama Ibu Kandung", "Status Perkawinan", "Pendidikan Terakhir", "Email", "Mulai Cakupan",
                  "Berakhir Cakupan", "Keterangan", "Petugas Pendata", "No. KK", "Alamat Domisili", "Koordinat",
                  "Tanggal Pendataan", "No. Rekening", "Nama Usaha")


def _letters(col: int) -> str:
    out = ""
    while col:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def make_office_xlsx(rows: int, seed: int = 16) -> bytes:
    """An XLSX as Excel writes an office's list (issue 16: 15,000 rows came to 5.35 MB): a title
    merged over the columns, the header on row 4, 22 columns (16 the app reads, 6 it does not),
    shared strings, cell references and styles on every cell, dates as date-formatted numbers,
    NIK/HP as text, varied names, addresses, e-mail addresses and notes (which is what makes
    a real list pack to a few MB). Every row is a valid Muara Enim worker."""
    import random
    from xml.sax.saxutils import escape

    from kiosk import wilayah
    from kiosk.coverage import default_end

    rng = random.Random(seed)
    make = dataset.NikMaker()
    today = dataset.today_jakarta()
    start_serial = (today - date(1899, 12, 30)).days
    end_serial = (default_end(today) - date(1899, 12, 30)).days
    strings: dict[str, int] = {}

    def text(value: str) -> int:
        index = strings.get(value)
        if index is None:
            index = strings[value] = len(strings)
        return index

    places = {}
    width = len(OFFICE_HEADERS)
    span = f"1:{width}"
    columns = [_letters(c) for c in range(1, width + 1)]
    lines = [f'<row r="1" spans="{span}" ht="21" customHeight="1"><c r="A1" s="4" t="s"><v>'
             f'{text("DAFTAR CALON PESERTA BPU PROGRAM PERLINDUNGAN PEKERJA RENTAN KABUPATEN MUARA ENIM")}</v></c></row>',
             f'<row r="2" spans="{span}"><c r="A2" s="0" t="s"><v>{text("Tahun Anggaran " + str(today.year))}</v></c></row>',
             f'<row r="4" spans="{span}">' + "".join(f'<c r="{columns[i]}4" s="5" t="s"><v>{text(h)}</v></c>'
                                                    for i, h in enumerate(OFFICE_HEADERS)) + "</row>"]
    for n in range(rows):
        nik, sex, birth = make(n)
        code = nik[:6]
        if code not in places:
            places[code] = (wilayah.kecamatan_by_code(code), wilayah.desa_list(code))
        kec, desas = places[code]
        given = rng.choice(_GIVEN)
        name = " ".join(w for w in (given, rng.choice(_MIDDLE), rng.choice(_FAMILY)) if w)
        mother = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
        phone = f"08{rng.choice('1257')}{rng.randrange(10**8, 10**9)}"
        kpj = f"{rng.randrange(10**10, 10**11)}" if rng.random() < 0.3 else None
        line = n + 5
        values = [
            ("n", 0, n + 1), ("s", 2, nik), ("s", 0, name.upper() if rng.random() < 0.4 else name),
            ("s", 0, "Laki-laki" if sex == "L" else "Perempuan"), ("s", 0, rng.choice(("Muara Enim", kec.name, "Palembang",
                                                                                      "Lahat", "Prabumulih"))),
            ("n", 1, (birth - date(1899, 12, 30)).days),
            ("s", 0, f"{rng.choice(_STREETS)} No. {rng.randrange(1, 250)} Dusun {rng.randrange(1, 9)}"),
            ("s", 2, f"{rng.randrange(1, 30):03d}/{rng.randrange(1, 12):03d}"),
            ("s", 0, rng.choice(desas).name if desas else ""), ("s", 0, kec.name),
            ("s", 0, rng.choice(dataset.OCCUPATIONS)), ("s", 2, phone), ("s", 2, kpj),
            ("n", 3, rng.randrange(8, 40) * 100_000 if rng.random() < 0.8 else None),
            ("s", 0, mother), ("s", 0, rng.choice(_MARRIED)), ("s", 0, rng.choice(_SCHOOL)),
            ("s", 0, f"{given.lower()}.{rng.randrange(10, 9999)}@gmail.com" if rng.random() < 0.5 else None),
            ("n", 1, start_serial), ("n", 1, end_serial), ("s", 0, rng.choice(_NOTES) or None),
            ("s", 0, f"Petugas {rng.randrange(1, 40)}"), ("s", 2, f"1603{rng.randrange(10**11, 10**12)}"),
            ("s", 0, f"{rng.choice(_STREETS)} No. {rng.randrange(1, 250)} RT {rng.randrange(1, 30):02d} Kel. "
                     f"{rng.choice(desas).name if desas else ''}"),
            ("s", 0, f"-3.{rng.randrange(10**6, 10**7)}, 103.{rng.randrange(10**6, 10**7)}"),
            ("n", 1, start_serial - rng.randrange(0, 90)),
            ("s", 2, f"{rng.randrange(10**12, 10**13)}" if rng.random() < 0.6 else None),
            ("s", 0, f"{rng.choice(('Warung', 'Kebun', 'Toko', 'Bengkel', 'Usaha'))} {rng.choice(_FAMILY)} "
                     f"{rng.choice(('Jaya', 'Makmur', 'Sejahtera', 'Abadi', 'Bersama', 'Mandiri'))}"),
        ]
        cells = []
        for col, (kind, style, value) in zip(columns, values):
            reference = f"{col}{line}"
            if value is None or value == "":
                cells.append(f'<c r="{reference}" s="{style}"/>')
            elif kind == "s":
                cells.append(f'<c r="{reference}" s="{style}" t="s"><v>{text(value)}</v></c>')
            else:
                cells.append(f'<c r="{reference}" s="{style}"><v>{value}</v></c>')
        lines.append(f'<row r="{line}" spans="{span}" x14ac:dyDescent="0.25">' + "".join(cells) + "</row>")
    last = f"{columns[-1]}{rows + 4}"
    main_ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             f'<worksheet {main_ns} xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
             'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
             f'<dimension ref="A1:{last}"/><sheetViews><sheetView workbookViewId="0"><pane ySplit="4" topLeftCell="A5" '
             'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
             '<cols><col min="1" max="1" width="5" customWidth="1"/><col min="2" max="2" width="19" customWidth="1"/>'
             '<col min="3" max="3" width="28" customWidth="1"/></cols><sheetData>' + "".join(lines) +
             f'</sheetData><mergeCells count="2"><mergeCell ref="A1:{columns[-1]}1"/><mergeCell ref="A2:{columns[-1]}2"/>'
             '</mergeCells><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
             '</worksheet>')
    shared = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {main_ns} count="{len(strings)}" '
              f'uniqueCount="{len(strings)}">' + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings) + "</sst>")
    styles = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {main_ns}>'
              '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy;@"/></numFmts>'
              '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>'
              '<name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill>'
              '</fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
              '<cellXfs count="6"><xf numFmtId="0" xfId="0"/><xf numFmtId="164" xfId="0" applyNumberFormat="1"/>'
              '<xf numFmtId="49" xfId="0" applyNumberFormat="1"/><xf numFmtId="3" xfId="0" applyNumberFormat="1"/>'
              '<xf numFmtId="0" fontId="1" xfId="0"/><xf numFmtId="0" fontId="1" xfId="0"/></cellXfs></styleSheet>')
    parts = dict(_XLSX_PARTS)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        "</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>", '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # Excel packs fast
        for name, content in parts.items():
            archive.writestr(name, content)
        archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("xl/styles.xml", styles)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def _rss_mb(key: str) -> float:
    import re as _re

    try:
        text = open("/proc/self/status").read()
    except OSError:
        return 0.0
    found = _re.search(key + r":\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else 0.0


def _measured(action):
    """(result or exception, wall s, CPU s, peak extra MB) of ``action()``: the process's peak
    resident memory is reset first (Linux clear_refs), so the peak is this action's own."""
    start = _rss_mb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as control:
            control.write("5")
    except OSError:
        pass
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        outcome = action()
    except Exception as error:  # noqa: BLE001 - a refused file is a result too
        outcome = error
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return outcome, wall, cpu, max(0.0, _rss_mb("VmHWM") - start)


def worst_within_limits(rows: int, columns: int = 48) -> bytes:
    """The most work the reader's bounds let through: ``rows`` rows of ``columns`` numeric
    cells (random, so that the file packs as a real one, under the ratio check), a header
    the app knows in the first columns; just under the element budget for MAX_ROWS rows."""
    import random

    rng = random.Random(18)
    letters = [_letters(c) for c in range(1, columns + 1)]
    header = ["NIK", "Nama Lengkap", "Jenis Kelamin", "Tanggal Lahir"] + [f"Kolom {c}" for c in range(5, columns + 1)]
    lines = ['<row r="1">' + "".join(f'<c r="{letters[i]}1" t="inlineStr"><is><t>{h}</t></is></c>'
                                     for i, h in enumerate(header)) + "</row>"]
    for line in range(2, rows + 2):
        lines.append(f'<row r="{line}">' + "".join(f'<c r="{col}{line}"><v>{rng.randrange(10**6)}</v></c>'
                                                   for col in letters) + "</row>")
    return _plain_xlsx(lines)


def _bombs():
    """tests/spreadsheet_bombs.py, or None when the tests are not in the tree."""
    import sys

    from .common import ROOT

    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    try:
        import spreadsheet_bombs
    except ImportError:
        return None
    return spreadsheet_bombs


def run(ctx: Context) -> BenchResult:
    from kiosk import create_app
    from kiosk.extensions import db
    from kiosk.imports import MAX_ROWS, commit, preview, reading

    result = BenchResult("imports")
    template_columns = columns()
    limit = MAX_ROWS
    instance = dataset.make_instance(ctx, "imports")
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": dataset.DESK_SECRET,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'kiosk.sqlite3'}"})
    files = [  # (kind, rows, short name, what it is)
        ("office", ctx.size(15_000, 1_000), "office list", "an office's list as Excel writes it, 26 columns"),
        ("office", ctx.size(limit, 2_000), "office list", "as above, MAX_ROWS rows"),
        ("template", ctx.size(10_000, 1_000), "template", "the template's 14 columns as inline strings"),
        ("worst", ctx.size(limit, 2_000), "worst allowed", "48 numeric columns: the reader's element budget nearly used"),
        ("template", ctx.size(100_000, 1_000 * 30), "template", "over MAX_ROWS: refused"),
    ]
    result.raw = {"columns": template_columns, "max_rows": limit, "files": [], "bombs": {},
                  "goal": f"any file within the limits previewed in ≤ {PREVIEW_GOAL_S:.0f} s, ≤ {MEMORY_GOAL_MB} MB extra"}
    committed = False
    for kind, rows, short, what in files:
        t0 = time.perf_counter()
        if kind == "office":
            data = make_office_xlsx(rows)
        elif kind == "worst":
            data = worst_within_limits(rows)
        else:
            data = make_xlsx(template_columns, rows)
        made = time.perf_counter() - t0
        raw = {"kind": kind, "rows": rows, "what": what, "xlsx_bytes": len(data), "make_seconds": round(made, 2)}
        result.raw["files"].append(raw)
        label = f"{short}, {rows:,} rows, {len(data) / 1e6:.1f} MB"
        ctx.log(f"imports: {label} ({what}) made in {made:.1f} s")
        within = rows <= limit
        with app.app_context(), app.test_request_context():
            shown, took, cpu, extra = _measured(lambda: preview(data, filename=f"pekerja-{rows}.xlsx"))
            raw.update(preview_seconds=round(took, 2), preview_cpu_seconds=round(cpu, 2), preview_extra_mb=round(extra))
            if isinstance(shown, Exception):
                message = str(getattr(shown, "message", shown))
                raw.update(refused=message)
                result.add(f"{label}: preview (refused)", took, "s", goal=f"≤ {PREVIEW_GOAL_S:.0f} s",
                           met=took <= PREVIEW_GOAL_S,
                           note=f"{what}; CPU {cpu:.2f} s, +{extra:.0f} MB; {message}")
                db.session.remove()
                continue
            counts = dict(shown.counts)
            reasons = sorted({str(m) for r in shown.rows if r.action == "refuse" for m in r.reasons})[:3]
            raw.update(counts=counts, refuse_reasons=reasons)
            result.add(f"{label}: preview", took, "s", goal=f"≤ {PREVIEW_GOAL_S:.0f} s" if within else "",
                       met=(took <= PREVIEW_GOAL_S) if within else None,
                       note=f"{what}; CPU {cpu:.2f} s; {counts}" + (f"; refused because: {reasons}" if reasons else ""))
            result.add(f"{label}: preview, peak extra memory", extra, "MB", goal=f"≤ {MEMORY_GOAL_MB} MB",
                       met=extra <= MEMORY_GOAL_MB, note="VmHWM reset before the preview")
            if kind != "office" or committed:
                db.session.remove()
                continue
            committed = True
            outcome, took, cpu, extra = _measured(lambda: commit(shown, staff=None))
            if isinstance(outcome, Exception):
                raw.update(commit_error=repr(outcome), commit_seconds=round(took, 2))
                result.add(f"{rows:,} rows: commit", f"failed: {type(outcome).__name__}", note=str(outcome)[:200])
                db.session.remove()
                continue
            written = db.session.scalar(db.text("SELECT count(*) FROM worker"))
            raw.update(commit_seconds=round(took, 2), commit_cpu_seconds=round(cpu, 2), outcome=vars(outcome),
                       workers_after=written)
            result.add(f"{rows:,} rows: commit", took, "s",
                       note=f"CPU {cpu:.2f} s; added {outcome.added:,}, updated {outcome.updated:,}, refused "
                            f"{outcome.refused:,}; {written:,} workers in the database; one transaction")
            db.session.remove()

    bombs = _bombs()
    if bombs is not None:
        slowest = biggest = None
        for name in bombs.BOMBS:
            data = bombs.make(name)
            with app.app_context(), app.test_request_context():
                outcome, took, cpu, extra = _measured(lambda: preview(data, filename=f"{name}.xlsx"))
                answer = (str(getattr(outcome, "message", outcome))[:90] if isinstance(outcome, Exception)
                          else f"read: {outcome.counts}")
                db.session.remove()
            result.raw["bombs"][name] = {"bytes": len(data), "seconds": round(took, 3), "cpu_seconds": round(cpu, 3),
                                         "extra_mb": round(extra), "answer": answer}
            if slowest is None or took > slowest[1]:
                slowest = (name, took, answer)
            if biggest is None or extra > biggest[1]:
                biggest = (name, extra, answer)
        count = len(bombs.BOMBS)
        result.add(f"{count} spreadsheet bombs: slowest answer", slowest[1], "s",
                   goal=f"≤ {PREVIEW_GOAL_S:.0f} s", met=slowest[1] <= PREVIEW_GOAL_S,
                   note=f"{slowest[0]}: {slowest[2]}")
        result.add(f"{count} spreadsheet bombs: largest extra memory", biggest[1], "MB",
                   goal=f"≤ {MEMORY_GOAL_MB} MB", met=biggest[1] <= MEMORY_GOAL_MB, note=f"{biggest[0]}")
    with app.app_context():
        db.engine.dispose()
    result.raw["note"] = f"kiosk.imports takes at most {limit:,} rows per file (MAX_ROWS); bounds: " + ", ".join(
        f"{name}={getattr(reading, name):,}" for name in ("MAX_BYTES", "MAX_PART", "MAX_RATIO", "MAX_ELEMENTS",
                                                           "MAX_SHARED_STRINGS", "MAX_MERGES", "MAX_DEPTH"))
    return result
