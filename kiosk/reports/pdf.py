"""Office documents as A4 PDFs (reportlab): the letterhead, tables and page footer every document
shares, and the lists to sign by hand. The BAST is ``bast.py``. Always Bahasa Indonesia."""

from __future__ import annotations

import io
from typing import Any

from ..characters import writable
from ..i18n import hari_tanggal_indonesian, indonesian, tanggal_indonesian
from ..models import Distribution
from .lists import claimed_not_handed_over, clock, non_recipients, recipients


def paragraph_styles() -> dict:
    """The paragraph styles of every office document."""
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


def esc(text: Any) -> str:
    """Text for a reportlab Paragraph (which reads a little XML): escaped, without the
    characters XML cannot hold (``characters.writable``)."""
    from xml.sax.saxutils import escape

    return escape(writable("" if text is None else str(text)))


def numbered_canvas(footer_left: str):
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
                    indonesian("Halaman %(page)s dari %(pages)s", page=self._pageNumber, pages=total)))
                super().showPage()
            super().save()

    return NumberedCanvas


def letterhead(styles, office: str, regency: str, address: str = "") -> list:
    """The office's letterhead: regency, office, address lines, a double rule."""
    from reportlab.platypus import HRFlowable, Paragraph, Spacer

    lines = [line for line in address.splitlines() if line.strip()]
    return [
        Paragraph(esc(("Pemerintah " + regency).upper()), styles["kop1"]),
        Paragraph(esc(office.upper()), styles["kop2"]),
        *[Paragraph(esc(line), styles["kop3"]) for line in lines],
        Spacer(1, 4),
        HRFlowable(width="100%", thickness=2, color="#000000", spaceBefore=2, spaceAfter=1),
        HRFlowable(width="100%", thickness=0.5, color="#000000", spaceBefore=0, spaceAfter=10),
    ]


def grid_table(data, widths, repeat=1, extra_styles=(), row_heights=None):
    """A ruled table whose header rows repeat on every page."""
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


def dots(value: str, n: int = 30) -> str:
    """A value, or a dotted line to fill in by hand."""
    return value if value else "." * n


def usable_width() -> float:
    """The width of an A4 page's frame inside its 2 cm margins and 6 pt padding."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm

    return A4[0] - 4 * cm - 12


def a4_pdf(story: list, *, title: str, author: str, footer: str, subject: str = "") -> bytes:
    """Lay ``story`` out on A4 pages (2 cm margins) with ``footer`` and "Halaman X dari Y" at the
    foot of each page; the PDF's bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import SimpleDocTemplate

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.6 * cm,
                            bottomMargin=2 * cm, title=title, author=author, subject=subject)
    doc.build(story, canvasmaker=numbered_canvas(footer[:110]))
    return out.getvalue()


def signing_list_pdf(distribution: Distribution, kind: str = "recipients", office: str = "Dinas Ketenagakerjaan",
                     regency: str = "Kabupaten Muara Enim", address: str = "") -> bytes:
    """A list to sign by hand, A4: recipients (``kind="recipients"``: handed over; those who
    claimed but were not handed a package are named apart under it) or eligible workers who did
    not collect (``kind="non_recipients"``), with a wide signature / thumbprint column."""
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, Spacer

    styles = paragraph_styles()
    p = lambda text, style="body": Paragraph(text, styles[style])  # noqa: E731
    if kind == "recipients":
        title = indonesian("DAFTAR PENERIMA PAKET SEMBAKO")
        heads = ["No.", "Nama", "NIK", "Desa", "No. paket", "Waktu", "Tanda tangan / cap jempol"]
        widths = [0.9, 3.9, 3.1, 2.6, 1.2, 1.2, 4.1]
        rows = [[r.name, r.nik_masked, r.desa, str(r.seq), clock(r.when)] for r in recipients(distribution)]
    else:
        title = indonesian("DAFTAR PESERTA YANG BELUM MENERIMA PAKET SEMBAKO")
        heads = ["No.", "Nama", "NIK", "Desa", "Kecamatan", "Tanda tangan / cap jempol"]
        widths = [0.9, 4.2, 3.1, 2.7, 2.6, 3.5]
        rows = [[r.name, r.nik_masked, r.desa, r.kecamatan] for r in non_recipients(distribution)]
    story = letterhead(styles, office, regency, address)
    story += [
        p("<b>%s</b>" % esc(title), "title"),
        p(esc("%s · %s · %s" % (distribution.name, hari_tanggal_indonesian(distribution.day), distribution.place or "-")), "center"),
        Spacer(1, 10),
    ]
    data = [[Paragraph(esc(indonesian(h)), styles["cellhead"]) for h in heads]]
    for i, row in enumerate(rows, 1):
        cells = [str(i)] + [Paragraph(esc(v), styles["small"]) for v in row]
        # The classic zig-zag of an Indonesian signing list: odd numbers left, even numbers right.
        cells.append(Paragraph(("%d. ......" % i) if i % 2 else ("&nbsp;" * 18 + "%d. ......" % i), styles["small"]))
        data.append(cells)
    if not rows:
        data.append([""] + [Paragraph(esc(indonesian("Tidak ada data.")), styles["small"])] + [""] * (len(heads) - 2))
    # Rows 1.15 cm high: room to sign or press a thumb.
    usable = usable_width()
    story.append(grid_table(data, [usable * w / sum(widths) for w in widths],
                            row_heights=[None] + [1.15 * cm] * (len(data) - 1),
                            extra_styles=[("FONTSIZE", (0, 1), (-1, -1), 8), ("ALIGN", (0, 1), (0, -1), "RIGHT"),
                                          ("VALIGN", (0, 1), (-1, -1), "MIDDLE")]))
    unhanded = claimed_not_handed_over(distribution) if kind == "recipients" else []
    if unhanded:
        # Apart, never in the numbered list: they have not received a package yet.
        story += [Spacer(1, 10), p("<b>%s</b>" % esc(indonesian("Diambil di kiosk, belum diserahkan:"))),
                  p(esc("; ".join(indonesian("No. paket %(seq)s %(name)s", seq=r.seq, name=r.name) for r in unhanded)))]
    return a4_pdf(story, title=title, author=office, footer=f"{distribution.name} · {tanggal_indonesian(distribution.day)}")

