"""Reading an office's file: the rows of the first sheet of an XLSX or of a CSV, within the
limits of one import (``rows`` then finds the header and reads the cells)."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from datetime import datetime, timedelta
from typing import IO, Any

from ..i18n import _l

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 60
# An XLSX is a zip: refuse one that would unpack to far more than any real list (a zip bomb).
MAX_UNPACKED = 400 * 1024 * 1024
# The work an XLSX may ask for, bounded before it is done (a crafted file of a few kB can
# otherwise ask for minutes and gigabytes, issue 12). Each bound is several times what a real
# list of MAX_ROWS rows needs; the bench's largest realistic file uses a fraction of each.
MAX_PART = 100 * 1024 * 1024  # unpacked bytes of one part the reader parses (sheet, shared strings, styles)
MAX_SMALL_PART = 4 * 1024 * 1024  # workbook and relations (parsed as trees)
MAX_RATIO = 100  # unpacked ÷ packed size of a part over RATIO_FLOOR: real sheets are 5-30
RATIO_FLOOR = 2 * 1024 * 1024
MAX_ELEMENTS = 2_000_000  # XML elements of the shared strings, styles and sheet together (cells, rows, ...)
MAX_DEPTH = 64  # nesting of XML elements (a sheet needs about 8)
MAX_SHARED_STRINGS = 500_000
MAX_TEXT = 64 * 1024 * 1024  # characters of all shared strings together
MAX_CELL_TEXT = 32_767  # Excel's own limit for one cell
MAX_MERGES = 10_000  # merged ranges in the sheet (a real list has a title row and a few groups)
HEADER_SEARCH_ROWS = 15


class ImportFileError(Exception):
    """The file as a whole cannot be imported; ``message`` says why, in Indonesian."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class UnknownColumns(ImportFileError):
    """No row looks like the header (NIK and name among known column names): the clerk is
    asked which column is which."""


def read_bytes(file: IO[bytes] | bytes) -> bytes:
    """The file's bytes, refused when too big or empty (``ImportFileError``)."""
    if isinstance(file, (bytes, bytearray)):
        data = bytes(file)
    else:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _l("Berkas terlalu besar (lebih dari %(mb)s MB). Bagi menjadi beberapa berkas.", mb=MAX_BYTES // 2**20)
        )
    if not data.strip():
        raise ImportFileError(_l("Berkas kosong. Pilih berkas Excel (.xlsx) atau CSV yang berisi data pekerja."))
    return data


def _not_a_sheet():
    return ImportFileError(
        _l("Berkas ini bukan lembar kerja yang bisa dibaca. Simpan dari Excel sebagai .xlsx atau CSV, lalu unggah lagi.")
    )


def read_table(file: IO[bytes] | bytes, filename: str = "") -> list[tuple[int, list[Any]]]:
    """The rows of the first sheet of an XLSX or of a CSV, as (line number, cell values),
    empty rows left out. The type is told by the content, not the file name. Raises
    ``ImportFileError`` with the reason for a file that cannot be read."""
    data = read_bytes(file)
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(
            _l("Berkas .xls (Excel lama) belum bisa dibaca. Buka di Excel, simpan sebagai .xlsx, lalu unggah lagi.")
        )
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise _not_a_sheet()
    return _read_csv(data)


# An XLSX's first sheet is streamed with expat, the C parser of the standard library: its callbacks
# per element cost about a third of building lxml elements and far less than openpyxl's cell
# objects (a 15,000-row list read in under a second; memory stays bounded: one row at a time).
# Real workbooks have no DTD, so one is refused, with any entity declaration.

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
_XML = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
        "remove_comments": True, "remove_pis": True}


def _cell_value(kind: str | None, raw: str, strings: list, number):
    """A cell's value from its type (the ``t`` attribute) and its text, in both sheet readers:
    a shared string by index (None when out of range), a number through ``number`` (which
    knows the cell's format), inline and formula text as written, a boolean, an ISO date."""
    if kind == "s":
        index = int(raw) if len(raw) < 12 else -1
        return strings[index] if 0 <= index < len(strings) else None
    if kind is None or kind == "n":
        return number(raw)
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "d":
        return datetime.fromisoformat(raw.strip().rstrip("Z"))
    return raw  # inlineStr, str, e, and anything unknown: the text itself


def _refusal(kind: str, limit: int = MAX_PART) -> ImportFileError:
    """The refusal of an XLSX that asks for more work than any real list, naming what it is."""
    messages = {
        "unpacked": lambda: _l("Berkas terlalu besar setelah dibuka (lebih dari %(mb)s MB). Bagi menjadi "
                               "beberapa berkas.", mb=limit // 2**20),
        "ratio": lambda: _l("Berkas ini tidak wajar: isinya setelah dibuka lebih dari %(n)s kali ukuran "
                            "berkasnya (bom zip). Simpan ulang dari Excel sebagai .xlsx, lalu unggah lagi.",
                            n=MAX_RATIO),
        "compression": lambda: _l("Berkas ini dimampatkan dengan cara yang tidak dipakai Excel. Simpan ulang dari "
                                  "Excel sebagai .xlsx, lalu unggah lagi."),
        "elements": lambda: _l("Lembar kerja ini terlalu rumit untuk dibaca: lebih dari %(n)s sel, baris dan unsur "
                               "lain (sel kosong yang diberi format ikut terhitung). Salin datanya saja ke lembar "
                               "baru, simpan, lalu unggah lagi.", n=_number_text(MAX_ELEMENTS)),
        "depth": lambda: _l("Berkas ini tidak wajar: susunan XML-nya bertingkat terlalu dalam. Simpan ulang dari "
                            "Excel sebagai .xlsx, lalu unggah lagi."),
        "strings": lambda: _l("Berkas ini memuat terlalu banyak teks: lebih dari %(n)s teks berbeda atau lebih "
                              "dari %(mb)s MB teks. Bagi menjadi beberapa berkas.",
                              n=_number_text(MAX_SHARED_STRINGS), mb=MAX_TEXT // 2**20),
        "cell": lambda: _l("Ada sel yang berisi lebih dari %(n)s karakter (batas Excel untuk satu sel). "
                           "Periksa berkasnya, lalu unggah lagi.", n=_number_text(MAX_CELL_TEXT)),
        "merges": lambda: _l("Berkas ini memuat terlalu banyak sel gabungan (merge): lebih dari %(n)s, atau "
                             "gabungan yang saling bertumpuk. Hapus penggabungan sel (Merge & Center) di luar "
                             "baris judul, lalu unggah lagi.", n=_number_text(MAX_MERGES)),
    }
    return ImportFileError(messages[kind]())


def _number_text(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class _Budget:
    """The XML elements left for the parts of one workbook (MAX_ELEMENTS in all)."""

    def __init__(self):
        self.left = MAX_ELEMENTS


def _open_part(archive: zipfile.ZipFile, name: str, limit: int = MAX_PART):
    """A part of the package to read, refused before it is inflated when it would unpack to more
    than ``limit`` or far more than its packed size, or is packed as Excel never packs (bzip2
    and LZMA inflate a whole member at once). zipfile stops at the declared size (a larger
    stream fails its CRC), so the declared size is a true bound."""
    info = archive.getinfo(name)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refusal("compression")
    if info.file_size > limit:
        raise _refusal("unpacked", limit)
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise _refusal("ratio")
    return archive.open(info)


def _xml_root(archive: zipfile.ZipFile, name: str):
    """A small part (workbook, relations) as an lxml tree."""
    from lxml import etree

    with _open_part(archive, name, MAX_SMALL_PART) as part:
        return etree.parse(part, etree.XMLParser(**_XML)).getroot()


def _relations(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """rId -> (relationship type, part name) for one part of the package."""
    import posixpath

    folder, base = posixpath.split(part)
    try:
        root = _xml_root(archive, posixpath.join(folder, "_rels", base + ".rels"))
    except KeyError:
        return {}
    found = {}
    for rel in root:
        target = rel.get("Target", "")
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id")] = (rel.get("Type", ""), name)
    return found


def _date_styles(archive: zipfile.ZipFile, name: str | None, budget: _Budget) -> set[int]:
    """The cell styles whose number format is a date (their numbers are Excel dates). Streamed:
    a workbook bloated with styles may have tens of thousands."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    if not name or name not in archive.NameToInfo:
        return set()
    custom: dict[str, str] = {}
    formats: list[str] = []
    state = {"depth": 0, "cell_xfs": False}

    def start(tag, attrs):
        _count(budget, state)
        tag = _local(tag)
        if tag == "numFmt":
            custom[attrs.get("numFmtId", "")] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["cell_xfs"] = True
        elif tag == "xf" and state["cell_xfs"]:
            formats.append(attrs.get("numFmtId", "0"))

    def end(tag):
        state["depth"] -= 1
        if _local(tag) == "cellXfs":
            state["cell_xfs"] = False

    parser = _expat({"StartElementHandler": start, "EndElementHandler": end})
    with _open_part(archive, name) as part:
        parser.ParseFile(part)
    dates = set()
    verdicts: dict[str, bool] = {}
    for index, number_format in enumerate(formats):
        if number_format not in verdicts:
            code = custom.get(number_format)
            if code is None:
                code = BUILTIN_FORMATS.get(int(number_format) if number_format.isdigit() and len(number_format) < 6 else 0,
                                           "General")
            verdicts[number_format] = is_date_format(code)
        if verdicts[number_format]:
            dates.add(index)
    return dates


def _count(budget: _Budget, state: dict) -> None:
    """One more element (and one level deeper) for the shared strings' and styles' parsers."""
    budget.left -= 1
    state["depth"] += 1
    if budget.left < 0:
        raise _refusal("elements")
    if state["depth"] > MAX_DEPTH:
        raise _refusal("depth")


def _first_sheet(archive: zipfile.ZipFile) -> tuple[str, bool, str | None, str | None]:
    """(sheet part, 1904 date system?, shared strings part, styles part) of the workbook."""
    main = "xl/workbook.xml" if "xl/workbook.xml" in archive.NameToInfo else None
    if main is None:
        main = next((p for t, p in _relations(archive, "").values() if t.endswith("/officeDocument")), None)
    if main is None:
        raise _not_a_sheet()
    workbook = _xml_root(archive, main)
    relations = _relations(archive, main)
    sheet = workbook.find("{*}sheets/{*}sheet")
    if sheet is None:
        raise _not_a_sheet()
    rid = sheet.get(f"{{{_REL}}}id") or sheet.get(f"{{{_REL_STRICT}}}id")
    if rid not in relations:
        raise _not_a_sheet()
    properties = workbook.find("{*}workbookPr")
    date1904 = properties is not None and properties.get("date1904", "").lower() in ("1", "true")
    strings = next((p for t, p in relations.values() if t.endswith("/sharedStrings")), None)
    styles = next((p for t, p in relations.values() if t.endswith("/styles")), None)
    return relations[rid][1], date1904, strings, styles


def _no_dtd(*_args):
    raise ValueError("a workbook part with a DTD or an entity declaration")


def _expat(handlers: dict):
    """An expat parser with ``handlers`` (element names without their namespace prefix) that
    refuses DTDs and entity declarations."""
    import xml.parsers.expat

    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    for event, handler in handlers.items():
        setattr(parser, event, handler)
    return parser


_LOCAL: dict[str, str] = {}


def _local(name: str) -> str:
    """ "x:row" -> "row" (some writers prefix the spreadsheet namespace)."""
    local = _LOCAL.get(name)
    if local is None:
        local = name.rpartition(":")[2]
        if len(_LOCAL) < 1000:  # the names of real parts; a crafted one's are not kept
            _LOCAL[name] = local
    return local


def _shared_strings(archive: zipfile.ZipFile, name: str | None, budget: _Budget) -> list[str]:
    """The workbook's shared strings: each item's text, its rich-text runs joined, phonetic
    runs (<rPh>) left out. At most MAX_SHARED_STRINGS items of at most MAX_CELL_TEXT
    characters, MAX_TEXT in all."""
    if not name or name not in archive.NameToInfo:
        return []
    strings: list[str] = []
    text: list[str] = []
    state = {"in_t": False, "phonetic": 0, "depth": 0, "size": 0, "total": 0}

    def start(tag, _attrs):
        _count(budget, state)
        tag = _local(tag)
        if tag == "t":
            state["in_t"] = not state["phonetic"]
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "si":
            text.clear()
            state["size"] = 0
            if len(strings) >= MAX_SHARED_STRINGS:
                raise _refusal("strings")

    def end(tag):
        state["depth"] -= 1
        tag = _local(tag)
        if tag == "t":
            state["in_t"] = False
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "si":
            strings.append("".join(text))

    def data(chunk):
        if state["in_t"]:
            state["size"] += len(chunk)
            state["total"] += len(chunk)
            if state["size"] > MAX_CELL_TEXT:
                raise _refusal("cell")
            if state["total"] > MAX_TEXT:
                raise _refusal("strings")
            text.append(chunk)

    parser = _expat({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": data})
    with _open_part(archive, name) as part:
        parser.ParseFile(part)
    return strings


_DIGITS = "0123456789"
# Column letters -> number, for the columns an import reads (beyond them a row is cut).
_COLUMN_NUMBERS = {}
for _n in range(1, MAX_COLUMNS + 1):
    _letters, _rest = "", _n
    while _rest:
        _rest, _r = divmod(_rest - 1, 26)
        _letters = chr(65 + _r) + _letters
    _COLUMN_NUMBERS[_letters] = _n


class _Sheet:
    """The expat callbacks reading a worksheet part into ``rows``: (line, values), the values
    up to MAX_COLUMNS typed as openpyxl gives them (text, int, float, bool, datetime). Written
    for speed: they run for every element of the sheet. Each element counts against the
    workbook's budget and its nesting against MAX_DEPTH; a cell's text against MAX_CELL_TEXT;
    the merged ranges against MAX_MERGES."""

    def __init__(self, strings: list[str], dates: set[int], date1904: bool, budget: _Budget):
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        self.strings, self.dates = strings, dates
        self.date1904 = date1904
        self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        self.budget = budget
        self.left = budget.left
        self.depth = 0
        self.rows: list[tuple[int, list[Any]]] = []
        self.merges: list[str] = []
        self.values: list[Any] = []
        self.text: list[str] = []
        self.line = self.column = 0
        self.kind = self.style = None
        self.collect = False
        self.phonetic = 0
        self.prefixed: bool | None = None  # element names written with a namespace prefix ("x:row")

    def start(self, tag, attrs):
        self.left -= 1
        self.depth += 1
        if self.left < 0 or self.depth > MAX_DEPTH:
            raise _refusal("elements" if self.left < 0 else "depth")
        if self.prefixed:
            tag = _LOCAL.get(tag) or _local(tag)
        elif self.prefixed is None:
            self.prefixed = ":" in tag
            tag = _local(tag)
        if tag == "c":
            reference = attrs.get("r")
            if reference:
                self.column = _COLUMN_NUMBERS.get(reference.rstrip(_DIGITS), MAX_COLUMNS + 1)
            else:
                self.column += 1
            self.kind = attrs.get("t")
            self.style = attrs.get("s")
            self.text = []
        elif tag == "v":
            self.collect = True
        elif tag == "row":
            self.values = []
            self.column = 0
            number = attrs.get("r")
            self.line = int(number) if number and number.isdigit() and len(number) < 10 else self.line + 1
        elif tag == "t":
            self.collect = not self.phonetic
        elif tag == "rPh":
            self.phonetic += 1
        elif tag == "mergeCell":
            if len(self.merges) >= MAX_MERGES:
                raise _refusal("merges")
            self.merges.append(attrs.get("ref", ""))

    def end(self, tag):
        self.depth -= 1
        if self.prefixed:
            tag = _LOCAL.get(tag) or _local(tag)
        if tag == "c":
            text = self.text
            if text and self.column <= MAX_COLUMNS:
                raw = text[0] if len(text) == 1 else "".join(text)
                value = _cell_value(self.kind, raw, self.strings, self._number)
                if value is not None:
                    values = self.values
                    if len(values) < self.column - 1:
                        values.extend([None] * (self.column - 1 - len(values)))
                    values.append(value)
        elif tag == "v" or tag == "t":
            self.collect = False
        elif tag == "row":
            if self.values and _filled(self.values):  # empty rows are left out as they come
                self.rows.append((self.line, self.values))
                if len(self.rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    raise _too_many_rows()
        elif tag == "rPh":
            self.phonetic -= 1

    def data(self, chunk):
        if self.collect:
            text = self.text
            text.append(chunk)
            if len(text) > 3 and sum(map(len, text)) > MAX_CELL_TEXT:  # expat hands text over in 8 kB pieces
                raise _refusal("cell")

    def _number(self, raw: str) -> Any:
        raw = raw.strip()
        if not raw:
            return None
        if len(raw) > 400:
            raise ValueError("not a number")
        value = float(raw) if ("." in raw or "e" in raw or "E" in raw) else int(raw)
        if self.style is None or int(self.style) not in self.dates:
            return value
        if type(value) is int and value > 60 and not self.date1904:
            return _DAY_ZERO + timedelta(days=value)  # Excel's day numbers after its 1900 leap-day bug
        from openpyxl.utils.datetime import from_excel

        try:
            return from_excel(value, self.epoch)
        except (ValueError, OverflowError):
            return value


_DAY_ZERO = datetime(1899, 12, 30)


# A sheet up to this size is read whole by _plain_sheet_rows (its bytes and text in memory).
FAST_MAX = 40 * 1024 * 1024
_TOKEN = re.compile(
    r'\s*(?:'
    r'<c(?: r="(?P<r>[A-Z]{1,3}[0-9]{1,7})")?(?: s="(?P<s>[0-9]{1,6})")?(?: t="(?P<t>[a-zA-Z]{1,9})")?\s*'
    r'(?:/>|>(?:<f>[^<]*</f>|<f(?: [a-zA-Z]+="[^"<&]*")*\s*/>)?'
    r'(?:<v>(?P<v>[^<&\r]*)</v>|<is><t(?: xml:space="preserve")?>(?P<is>[^<&\r]*)</t></is>)?</c>)'
    r'|(?P<row><row(?P<rowattrs>(?:\s+[a-zA-Z][\w:.-]*="[^"<&]*")*)\s*(?P<empty>/)?>)'
    r'|(?P<endrow></row>)'
    r')'
)
_ROW_NUMBER = re.compile(r'(?:^|\s)r="([0-9]{1,9})"')
_MERGE = re.compile(r'<mergeCell ref="([^"<&]*)"\s*/>')


def _plain_sheet_rows(data: bytes, sheet: _Sheet):
    """(rows, merged range references) of a sheet written plainly, as Excel, LibreOffice,
    Google Sheets and openpyxl write one, read by a regular expression instead of expat's
    callbacks (a third of the CPU time); ``None`` when anything in it needs the full parser
    (a prefix, a DTD or comment, rich or entity-escaped text, an attribute the expression does
    not know, another encoding): then the expat reader reads the sheet. Only token after token
    is read (each match starts where the last ended), and every bound of the expat reader is
    kept: the element budget, the rows, a cell's text, the merged ranges."""
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    declaration = data[:100].split(b"?>", 1)[0] if data[:5] == b"<?xml" else b""
    if b"encoding" in declaration and b'encoding="UTF-8"' not in declaration.replace(b"utf-8", b"UTF-8"):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    del data
    head_end = text.find("<sheetData")
    if head_end < 0 or "<!" in text[:head_end]:
        return None
    start = text.find(">", head_end) + 1
    if text[head_end:start] == "<sheetData/>":
        merges = _merges(text[start:])
        return None if merges is None else ([], merges)
    end = text.find("</sheetData>", start)
    if end < 0 or text[head_end:start] != "<sheetData>":
        return None
    rows, values = [], []
    strings, dates = sheet.strings, sheet.dates
    left = sheet.left
    line = column = 0
    pos = start
    match = _TOKEN.match
    number = sheet._number
    limit = MAX_ROWS + HEADER_SEARCH_ROWS
    while True:
        if left < 0:
            raise _refusal("elements")
        m = match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        left -= 1
        reference, style, kind, raw, inline, row, attrs, empty, endrow = m.groups()
        if row:
            values = []
            column = 0
            found = _ROW_NUMBER.search(attrs) if attrs else None
            line = int(found.group(1)) if found else line + 1
            if empty:
                continue
        elif endrow:
            if values and _filled(values):
                rows.append((line, values))
                if len(rows) > limit:
                    raise _too_many_rows()
        else:
            column = _COLUMN_NUMBERS.get(reference.rstrip(_DIGITS), MAX_COLUMNS + 1) if reference else column + 1
            if raw is not None:
                left -= 1  # <v>
            elif inline is not None:
                raw = inline
                left -= 2  # <is><t>
            else:
                continue
            if not raw or column > MAX_COLUMNS:
                continue
            if len(raw) > MAX_CELL_TEXT:
                raise _refusal("cell")
            sheet.style = style  # read by ``number`` for a numeric cell (a date's format)
            value = _cell_value(kind, raw, strings, number)
            if value is not None:
                if len(values) < column - 1:
                    values.extend([None] * (column - 1 - len(values)))
                values.append(value)
    if left < 0:
        raise _refusal("elements")
    if text[pos:end].strip():
        return None  # something the tokens do not know: the full parser reads it
    merges = _merges(text[end:])
    if merges is None:
        return None
    sheet.left = left
    return rows, merges


def _merges(tail: str) -> list[str] | None:
    merges = _MERGE.findall(tail)
    if len(merges) > MAX_MERGES:
        raise _refusal("merges")
    if len(merges) != tail.count("<mergeCell "):
        return None  # written another way: the full parser reads them
    return merges


def _sheet_rows(archive, name: str, strings: list[str], dates: set[int], date1904: bool, budget: _Budget):
    """(rows, merged range references) of a worksheet part."""
    sheet = _Sheet(strings, dates, date1904, budget)
    with _open_part(archive, name) as part:
        if archive.getinfo(name).file_size <= FAST_MAX:
            # Read in bounded pieces: read() at once would inflate all that is packed in one go,
            # whatever size the member declares (zipfile cuts the excess only afterwards).
            chunks = []
            while chunk := part.read(1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
            del chunks
            plain = _plain_sheet_rows(data, sheet)
            del data
            if plain is not None:
                budget.left = sheet.left
                return plain
            sheet = _Sheet(strings, dates, date1904, budget)
    parser = _expat({"StartElementHandler": sheet.start, "EndElementHandler": sheet.end,
                     "CharacterDataHandler": sheet.data})
    with _open_part(archive, name) as part:
        parser.ParseFile(part)
    budget.left = sheet.left
    return sheet.rows, sheet.merges


def _filled(values: list[Any]) -> bool:
    return any(v is not None and (not isinstance(v, str) or v.strip()) for v in values)


def _fill_merged(rows: list[tuple[int, list[Any]]], merges: list[str]) -> None:
    """A merged range's value in every cell of the range (a kecamatan merged down several rows
    applies to each); a row that only lies inside a merged range stays an empty row. The cells
    to fill are counted first: ranges that do not overlap (Excel allows no other) fill at most
    every cell of the rows read once, so more is refused, not done."""
    import bisect

    from openpyxl.utils.cell import range_boundaries

    if not merges:
        return
    lines = [line for line, _values in rows]
    by_line = dict(rows)
    ranges = []
    cells = 0
    for reference in merges:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(reference)
        except (ValueError, TypeError):
            continue
        if None in (min_col, min_row, max_col, max_row) or min_col > MAX_COLUMNS:
            continue
        max_col = min(max_col, MAX_COLUMNS)
        first, last = bisect.bisect_left(lines, min_row), bisect.bisect_right(lines, max_row)
        cells += (last - first) * (max_col - min_col + 1)
        ranges.append((min_col, min_row, max_col, first, last))
    if cells > max(len(rows), 1) * MAX_COLUMNS:
        raise _refusal("merges")
    for min_col, min_row, max_col, first, last in ranges:
        anchor_row = by_line.get(min_row)
        anchor = anchor_row[min_col - 1] if anchor_row is not None and min_col <= len(anchor_row) else None
        for position in range(first, last):
            values = by_line[lines[position]]
            if len(values) < max_col:
                values.extend([None] * (max_col - len(values)))
            for column in range(min_col, max_col + 1):
                if (lines[position], column) != (min_row, min_col):
                    values[column - 1] = anchor


def _read_xlsx(data: bytes) -> list[tuple[int, list[Any]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise _refusal("unpacked", MAX_UNPACKED)
        budget = _Budget()
        sheet, date1904, strings_part, styles_part = _first_sheet(archive)
        strings = _shared_strings(archive, strings_part, budget)
        dates = _date_styles(archive, styles_part, budget)
        rows, merges = _sheet_rows(archive, sheet, strings, dates, date1904, budget)
        _fill_merged(rows, merges)
        return rows
    except ImportFileError:
        raise
    except Exception:  # noqa: BLE001 - any broken zip/XML (or an encrypted one) is the same answer
        raise _not_a_sheet() from None


def _too_many_rows():
    return ImportFileError(
        _l("Berkas terlalu banyak barisnya: paling banyak %(n)s baris per impor. Bagi menjadi beberapa berkas.",
           n=f"{MAX_ROWS:,}".replace(",", "."))
    )


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return data.decode("utf-16", errors="replace")  # a broken unit: one cell shows U+FFFD
        raise _not_a_sheet()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_csv(data: bytes) -> list[tuple[int, list[Any]]]:
    text = _decode(data)
    if "\x00" in text or sum(ch < " " and ch not in "\r\n\t" for ch in text[:4096]) > 8:
        raise _not_a_sheet()
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
    rows = []
    try:
        for line, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            values = values[:MAX_COLUMNS]
            if any(v.strip() for v in values):
                rows.append((line, values))
                if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                    raise _too_many_rows()
    except csv.Error:
        raise _not_a_sheet() from None
    return rows
