"""Crafted XLSX files that ask a reader for far more work than their size (issue 12, "spreadsheet
bombs"), built byte by byte so that every field of the zip can lie as an attacker's would. Used
by tests/test_spreadsheet_bombs.py and by the bench (bench/imports.py times them).

``BOMBS`` maps a name to (what it is, a function making its bytes, what the reader must do):
a refusal whose message holds the given words, or ``ROWS`` (read correctly: the header and
Siti). ``UNDER_THE_RATIO`` are the same kinds of bombs with the zip ratio check lifted, to prove
the bound behind it holds by itself.
"""

from __future__ import annotations

import functools
import random
import struct
import zlib

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
STORED, DEFLATED, BZIP2 = 0, 8, 12
ROWS = "rows"

HEADER_ROWS = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>NIK</t></is></c><c r="B1" t="inlineStr"><is><t>Nama Lengkap</t>'
    '</is></c><c r="C1" t="inlineStr"><is><t>Jenis Kelamin</t></is></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>1603025001850001</t></is></c><c r="B2" t="inlineStr"><is>'
    '<t>Siti</t></is></c><c r="C2" t="inlineStr"><is><t>P</t></is></c></row>'
)
EXPECTED_ROWS = [(1, ["NIK", "Nama Lengkap", "Jenis Kelamin"]), (2, ["1603025001850001", "Siti", "P"])]


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def raw_zip(members: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, packed bytes, method, crc, declared unpacked size), the sizes as given."""
    out, central = bytearray(), bytearray()
    for name, packed, method, crc, size in members:
        encoded, offset = name.encode(), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(packed), size,
                           len(encoded), 0) + encoded + packed
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(packed), size,
                               len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    start = len(out)
    out += central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def _part(name: str, text: str | bytes) -> tuple[str, bytes, int, int, int]:
    data = text.encode() if isinstance(text, str) else text
    return name, deflate(data), DEFLATED, zlib.crc32(data), len(data)


def workbook(sheet_xml: str | None = None, strings_xml: str | None = None, *,
             sheet_member: tuple[str, bytes, int, int, int] | None = None) -> bytes:
    """A minimal XLSX: a first sheet (``sheet_xml``, the inside of <worksheet>, or a ready-made
    ``sheet_member``) and optional shared strings (the inside of <sst>)."""
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    if strings_xml is not None:
        rels.append(f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
    members = [
        _part("[Content_Types].xml",
              '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
              '<Default Extension="xml" ContentType="application/xml"/></Types>'),
        _part("_rels/.rels", f'<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                             f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        _part("xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                                 '<sheet name="Daftar" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        _part("xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>'),
    ]
    if strings_xml is not None:
        members.append(_part("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{strings_xml}</sst>'))
    if sheet_member is None:
        sheet_member = _part("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{MAIN}">{sheet_xml}</worksheet>')
    members.append(sheet_member)
    return raw_zip(members)


def with_rows(extra: str = "", after: str = "") -> str:
    return f"<sheetData>{HEADER_ROWS}{extra}</sheetData>{after}"


# ---- the bombs --------------------------------------------------------------------------------------

def merges_overlapping() -> bytes:
    """The review's file: about 2 kB, 60 merged ranges A1:B99999 over one another."""
    return workbook(with_rows(after='<mergeCells count="60">' + '<mergeCell ref="A1:B99999"/>' * 60 + "</mergeCells>"))


def merges_many() -> bytes:
    """100,000 merged ranges, each of one row (none overlap)."""
    return workbook(with_rows(after="<mergeCells>" + "".join(f'<mergeCell ref="D{n}:E{n}"/>'
                                                             for n in range(3, 100_003)) + "</mergeCells>"))


def huge_dimension() -> bytes:
    """A sheet that says it spans every cell Excel has; it holds two rows."""
    return workbook('<dimension ref="A1:XFD1048576"/>' + with_rows())


def shared_strings() -> bytes:
    """About 84 kB holding two million shared strings."""
    return workbook(with_rows(), "<si><t>x</t></si>" * 2_000_000)


@functools.lru_cache(maxsize=None)
def _gigabyte_of_spaces() -> tuple[bytes, int]:
    """(raw deflate stream, crc) of 1 GiB of spaces, made from one 16 MiB block repeated: each
    block ends with a full flush, so every block packs to the same bytes."""
    block = b" " * (1 << 24)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed_block = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(64):
        crc = zlib.crc32(block, crc)
    return packed_block * 64 + compressor.flush(zlib.Z_FINISH), crc


def zip_bomb() -> bytes:
    """A sheet member that inflates to 1 GiB (about 1 MB packed), its size declared honestly."""
    packed, crc = _gigabyte_of_spaces()
    return workbook(sheet_member=("xl/worksheets/sheet1.xml", packed, DEFLATED, crc, 1 << 30))


def zip_bomb_lying() -> bytes:
    """The same member declaring it unpacks to 5,000 bytes."""
    packed, crc = _gigabyte_of_spaces()
    return workbook(sheet_member=("xl/worksheets/sheet1.xml", packed, DEFLATED, crc, 5_000))


def bzip2_member() -> bytes:
    """A sheet packed with bzip2, which zipfile inflates a whole read at once (a 1 GiB run packs
    into under 1 kB); declared small."""
    import bz2

    data = f'<worksheet xmlns="{MAIN}">{with_rows()}</worksheet>'.encode() + b" " * (1 << 24)
    return workbook(sheet_member=("xl/worksheets/sheet1.xml", bz2.compress(data), BZIP2, zlib.crc32(data), 4_000))


def empty_rows() -> bytes:
    """Five million empty rows."""
    return workbook(with_rows("<row/>" * 5_000_000))


def wide_row() -> bytes:
    """One row of three million cells."""
    return workbook(with_rows('<row r="3">' + '<c r="ZZ3"/>' * 3_000_000 + "</row>"))


def deep_nesting() -> bytes:
    """A cell nesting 300,000 elements, their names random so that the file packs badly (the
    ratio check does not see it)."""
    noise = random.Random(12).randbytes(300_000 * 3).hex()
    names = ["x" + noise[n : n + 6] for n in range(0, len(noise), 6)]
    inner = "".join(f"<{n}>" for n in names) + "".join(f"</{n}>" for n in reversed(names))
    return workbook(with_rows(f'<row r="3"><c r="D3"><v>{inner}</v></c></row>'))


def long_cell() -> bytes:
    """One inline string of ten million random hex digits (packs badly too)."""
    text = random.Random(13).randbytes(5_000_000).hex()
    return workbook(with_rows(f'<row r="3"><c r="D3" t="inlineStr"><is><t>{text}</t></is></c></row>'))


def long_shared_string() -> bytes:
    """A shared string of 40,000 characters (Excel stops at 32,767)."""
    return workbook(with_rows('<row r="3"><c r="D3" t="s"><v>0</v></c></row>'),
                    "<si><t>" + "ab" * 20_000 + "</t></si>")


BOMBS = {
    "merges_overlapping": (merges_overlapping, "sel gabungan"),
    "merges_many": (merges_many, "sel gabungan"),
    "huge_dimension": (huge_dimension, ROWS),
    "shared_strings": (shared_strings, "bom zip"),
    "zip_bomb": (zip_bomb, "setelah dibuka"),
    "zip_bomb_lying": (zip_bomb_lying, "bukan lembar kerja"),
    "bzip2_member": (bzip2_member, "tidak dipakai Excel"),
    "empty_rows": (empty_rows, "bom zip"),
    "wide_row": (wide_row, "bom zip"),
    "deep_nesting": (deep_nesting, "bertingkat terlalu dalam"),
    "long_cell": (long_cell, "karakter"),
    "long_shared_string": (long_shared_string, "karakter"),
}

@functools.lru_cache(maxsize=None)
def make(name: str) -> bytes:
    """The bytes of a bomb (made once per process)."""
    return BOMBS[name][0]()


# With the ratio check lifted, the bound behind it answers.
UNDER_THE_RATIO = {
    "shared_strings": "teks berbeda",
    "empty_rows": "terlalu rumit",
    "wide_row": "terlalu rumit",
}
