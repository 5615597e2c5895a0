"""The printable card: its QR code, one CR80 card as PDF or PNG, and A4 sheets of ten.

Everything is drawn by one function, ``draw_card``, in vector (text, the QR code as filled
rectangles); the PNG is the single-card PDF rasterized, so screen and paper never differ. The card
is printed in Indonesian whatever the staff screen's language: it is a document the office hands
out, like its dates (always ``locale="id"``).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import combinations

import pypdfium2
import qrcode
import qrcode.util
from babel.dates import format_date
from PIL import Image, ImageOps
from qrcode.constants import ERROR_CORRECT_Q
from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .tokens import format_fallback_code

log = logging.getLogger(__name__)

CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54.0 * mm
QR_BORDER = 4
# Version 2 (25 x 25) holds a 26-character token at level Q (29 max), the same size as at M:
# Q's extra error correction costs nothing here. H would need version 3, i.e. smaller modules.
QR_ERROR_CORRECTION = ERROR_CORRECT_Q
# A fixed mask instead of scoring all eight: the scoring is 85 % of qrcode's time (3 ms a card,
# 3 s a 1,000-card sheet), and on 25 tokens x 12 degraded webcam frames the scored mask decoded
# 160/300 against 146-167 for the fixed ones (mask 7: 167). Decoders accept any mask.
QR_MASK_PATTERN = 7
QR_MODULE = 1.2 * mm
QR_EDGE = 0.75 * mm  # from the card's top and right edges to the quiet zone
MARGIN = 3.0 * mm
PHOTO_WIDTH = 17.0 * mm
PHOTO_HEIGHT = 22.5 * mm

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
INK = (0, 0, 0)

TITLE = "KARTU PESERTA BPU"
LABEL_NIK = "NIK"
LABEL_KPJ = "No. KPJ"
LABEL_PERIOD = "Masa perlindungan"
LABEL_FALLBACK = "Kode cadangan"

SHEET_COLUMNS = 2
SHEET_ROWS = 5
SHEET_GAP_X = 8.0 * mm
SHEET_GAP_Y = 3.0 * mm
CROP_OFFSET = 0.5 * mm
CROP_LENGTH = 3.0 * mm

# A photo frame of 17 mm is 200 px at 300 dpi: 800 px is plenty, and keeps a sheet of phone
# pictures from weighing gigabytes.
_PHOTO_MAX_PX = 800
_PASS_THROUGH_PX = 1200
_PASS_THROUGH_BYTES = 400_000
_EXIF_ORIENTATION = 0x0112
_PLACEHOLDER_FORM = "kioskPhotoPlaceholder"
_pdfium_lock = threading.Lock()
_a85_lock = threading.Lock()


@dataclass(frozen=True)
class CardFace:
    """What one card shows. ``photo`` is JPEG or PNG bytes, or None for a drawn silhouette."""

    token: str
    fallback_code: str
    name: str
    masked_nik: str
    kpj: str | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    photo: bytes | None = None
    office_name: str = "Dinas Ketenagakerjaan"
    regency_name: str = "Kabupaten Muara Enim"


@lru_cache(maxsize=256)  # a preview then its PDF, a sheet printed twice
def _qr_matrix(token: str, border: int) -> tuple[tuple[bool, ...], ...]:
    qr = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, border=border,
                       mask_pattern=QR_MASK_PATTERN)
    qr.add_data(qrcode.util.QRData(token.encode("ascii"), mode=qrcode.util.MODE_ALPHA_NUM))
    qr.make(fit=True)
    return tuple(tuple(row) for row in qr.get_matrix())


def qr_matrix(token: str, border: int = QR_BORDER) -> list[list[bool]]:
    """The QR modules for ``token`` (alphanumeric mode, level Q), True = dark, quiet zone of
    ``border`` light modules included on every side. ``token`` must use the QR alphanumeric
    character set (a card token does)."""
    return [list(row) for row in _qr_matrix(token, border)]


def qr_size(token: str) -> float:
    """The printed side of the QR code for ``token``, quiet zone included, in points."""
    return len(_qr_matrix(token, QR_BORDER)) * QR_MODULE


def card_pdf(face: CardFace) -> bytes:
    """One card on a page the size of the card (CR80, 85.6 x 54 mm), as PDF."""
    buf = io.BytesIO()
    with _binary_streams():
        c = _canvas(buf, (CARD_WIDTH, CARD_HEIGHT), face.name)
        draw_card(c, 0, 0, face)
        c.showPage()
        c.save()
    return buf.getvalue()


def card_png(face: CardFace, dpi: int = 300) -> bytes:
    """The same card as a PNG image at ``dpi`` (rasterized from ``card_pdf``)."""
    pdf_bytes = card_pdf(face)
    # pdfium is not thread-safe; the app may render from several threads.
    with _pdfium_lock:
        pdf = pypdfium2.PdfDocument(pdf_bytes)
        try:
            image = pdf[0].render(scale=dpi / 72).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def sheet_pdf(faces: Iterable[CardFace]) -> bytes:
    """A4 pages of 2 x 5 cards with crop marks at every card corner, as many pages as needed."""
    buf = io.BytesIO()
    per_page = SHEET_COLUMNS * SHEET_ROWS
    count = 0
    with _binary_streams():
        c = _canvas(buf, A4, "Kartu Peserta BPU")
        for count, face in enumerate(faces, start=1):
            slot = (count - 1) % per_page
            x, y = sheet_slot_origin(slot)
            draw_card(c, x, y, face)
            _crop_marks(c, x, y)
            if slot == per_page - 1:
                c.showPage()
        if count == 0:
            raise ValueError("no cards to print")
        if count % per_page:
            c.showPage()
        c.save()
    return buf.getvalue()


def sheet_slot_origin(slot: int) -> tuple[float, float]:
    """Bottom-left corner, in points on an A4 page, of card ``slot`` (0-9, row by row from the
    top left)."""
    page_w, page_h = A4
    grid_w = SHEET_COLUMNS * CARD_WIDTH + (SHEET_COLUMNS - 1) * SHEET_GAP_X
    grid_h = SHEET_ROWS * CARD_HEIGHT + (SHEET_ROWS - 1) * SHEET_GAP_Y
    col, row = slot % SHEET_COLUMNS, slot // SHEET_COLUMNS
    x = (page_w - grid_w) / 2 + col * (CARD_WIDTH + SHEET_GAP_X)
    top = (page_h + grid_h) / 2
    y = top - (row + 1) * CARD_HEIGHT - row * SHEET_GAP_Y
    return x, y


def qr_origin(x: float, y: float, face: CardFace) -> tuple[float, float]:
    """Bottom-left corner of the QR code's quiet zone on a card drawn at ``(x, y)``."""
    side = qr_size(face.token)
    return x + CARD_WIDTH - QR_EDGE - side, y + CARD_HEIGHT - QR_EDGE - side


def draw_card(c: Canvas, x: float, y: float, face: CardFace) -> None:
    """Draw one card with its bottom-left corner at ``(x, y)`` (points) on canvas ``c``."""
    c.saveState()
    c.translate(x, y)
    c.setFillColorRGB(*INK)
    c.setStrokeColorRGB(*INK)

    qr_x, qr_y = qr_origin(0, 0, face)
    side = qr_size(face.token)
    _draw_qr(c, qr_x, qr_y, face.token)
    _draw_fallback(c, qr_x, qr_y, side, face.fallback_code)

    left = MARGIN
    width = qr_x - left  # the quiet zone is part of the code: no ink inside it
    top = CARD_HEIGHT - MARGIN
    _draw_fitted(c, face.office_name, FONT, 7, 5, left, top - 6.0, width)
    _draw_fitted(c, face.regency_name, FONT, 7, 5, left, top - 13.5, width)
    _draw_fitted(c, TITLE, FONT_BOLD, 12, 8, left, top - 26.0, width)

    photo_top = top - 31.0
    _draw_photo(c, left, photo_top - PHOTO_HEIGHT, face.photo)

    col_x = left + PHOTO_WIDTH + 2.0 * mm
    col_w = qr_x - col_x
    cursor = _draw_name(c, face.name, col_x, photo_top, col_w)
    cursor = _draw_field(c, LABEL_NIK, face.masked_nik, col_x, cursor - 3.0, col_w)
    if face.kpj:
        cursor = _draw_field(c, LABEL_KPJ, face.kpj, col_x, cursor - 1.5, col_w)

    period = coverage_period_text(face.coverage_start, face.coverage_end)
    if period:
        # Below the photo, or below the text beside it when a long name pushed that lower.
        _draw_period(c, period, left, min(photo_top - PHOTO_HEIGHT, cursor) - 2.5, width)
    c.restoreState()


def coverage_period_text(start: date | None, end: date | None) -> str:
    """The coverage period in Indonesian, e.g. ``1 Januari 2026 – 31 Maret 2026``; '' if
    neither date is known."""
    if start and end:
        return f"{_id_date(start)} – {_id_date(end)}"
    if start:
        return f"mulai {_id_date(start)}"
    if end:
        return f"sampai {_id_date(end)}"
    return ""


def _id_date(d: date) -> str:
    return format_date(d, "d MMMM y", locale="id")


@contextmanager
def _binary_streams():
    """Build a PDF without reportlab's default ASCII85 stream encoding (made for 7-bit mail,
    pure Python here: seconds on a 1,000-photo sheet, and 25 % bigger files). reportlab reads
    this setting globally; the lock keeps our own renderings from restoring it under each other,
    and another module's PDF built meanwhile is merely written in binary too."""
    with _a85_lock:
        previous = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = previous


def _canvas(buf: io.BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    c = Canvas(buf, pagesize=pagesize, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("Kiosk BPU")
    return c


def _draw_qr(c: Canvas, x: float, y: float, token: str) -> None:
    matrix = _qr_matrix(token, QR_BORDER)
    n = len(matrix)
    # Drawn in module units (integers, exact) as one filled path of one rectangle per horizontal
    # run of dark modules: no hairline seams between neighbouring modules when rasterized, and
    # about 150 short operators per code, which keeps a 1,000-card sheet fast.
    ops = []
    for r, row in enumerate(matrix):
        start = None
        for col, dark in enumerate(row + (False,)):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                ops.append(f"{start} {n - r - 1} {col - start} 1 re")
                start = None
    c.saveState()
    c.translate(x, y)
    c.scale(QR_MODULE, QR_MODULE)
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


def _draw_fallback(c: Canvas, qr_x: float, qr_y: float, side: float, code: str) -> None:
    centre = qr_x + side / 2
    try:
        shown = format_fallback_code(code)
    except ValueError:
        shown = code  # not ours to refuse here; print what the database holds
    c.setFont(FONT, 6.5)
    c.drawCentredString(centre, qr_y - 7.0, LABEL_FALLBACK)
    size = _fit_size(shown, FONT_BOLD, 12.5, 6, side - 2 * mm)
    c.setFont(FONT_BOLD, size)
    c.drawCentredString(centre, qr_y - 7.0 - size - 1.0, shown)


def _draw_period(c: Canvas, period: str, x: float, top: float, width: float) -> None:
    """Label, then the period on one line, or on two (split after the dash) if it is long."""
    c.setFont(FONT, 5.5)
    c.drawString(x, top - 5.5, LABEL_PERIOD)
    if stringWidth(period, FONT_BOLD, 7.5) <= width or " – " not in period:
        _draw_fitted(c, period, FONT_BOLD, 8.5, 5.0, x, top - 5.5 - 9.5, width)
        return
    first, second = period.split(" – ", 1)
    lines = [first + " –", second]
    size = min(_fit_size(line, FONT_BOLD, 8.5, 5.0, width) for line in lines)
    c.setFont(FONT_BOLD, size)
    c.drawString(x, top - 5.5 - 9.5, lines[0])
    c.drawString(x, top - 5.5 - 9.5 - size * 1.15, lines[1])


def _draw_field(c: Canvas, label: str, value: str, x: float, top: float, width: float) -> float:
    """A small label over a bold value; return the y below them."""
    c.setFont(FONT, 5.5)
    c.drawString(x, top - 5.5, label)
    _draw_fitted(c, value, FONT_BOLD, 8.5, 5.0, x, top - 15.0, width)
    return top - 17.0


def _draw_name(c: Canvas, name: str, x: float, top: float, width: float) -> float:
    """Draw the name as large as it fits on one to four lines; return the y below it."""
    words = " ".join(name.split()).split(" ")
    best: tuple[float, list[str]] | None = None
    for count, largest in ((1, 11.0), (2, 9.5), (3, 8.0), (4, 7.0)):
        if count > len(words):
            break
        lines = _balanced_lines(words, count)
        size = min(_fit_size(line, FONT_BOLD, largest, 0.0, width) for line in lines)
        if best is None or size > best[0]:
            best = (size, lines)
        if size >= 7.5:
            break
    size, lines = best
    size = max(size, 5.0)  # below this it is unreadable: truncate the longest line instead
    c.setFont(FONT_BOLD, size)
    baseline = top - size
    for line in lines:
        c.drawString(x, baseline, _truncate(line, FONT_BOLD, size, width))
        baseline -= size * 1.12
    return baseline + size * 1.12 - size * 0.25


def _balanced_lines(words: list[str], count: int) -> list[str]:
    """Split ``words`` into ``count`` lines, making the widest line as narrow as possible."""
    best: tuple[float, list[str]] | None = None
    for cuts in combinations(range(1, len(words)), count - 1):
        bounds = (0, *cuts, len(words))
        lines = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]
        widest = max(stringWidth(line, FONT_BOLD, 10) for line in lines)
        if best is None or widest < best[0]:
            best = (widest, lines)
    return best[1]


def _fit_size(text: str, font: str, largest: float, smallest: float, width: float) -> float:
    """The largest font size in [smallest, largest] at which ``text`` fits ``width``."""
    natural = stringWidth(text, font, largest)
    if natural <= width:
        return largest
    # Round down to 0.05 pt so float error never makes a fitted text overflow by a hair.
    return max(smallest, int(largest * width / natural * 20) / 20)


def _truncate(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _draw_fitted(c: Canvas, text: str, font: str, largest: float, smallest: float, x: float,
                 baseline: float, width: float) -> float:
    size = _fit_size(text, font, largest, smallest, width)
    c.setFont(font, size)
    c.drawString(x, baseline, _truncate(text, font, size, width))
    return size


def _draw_photo(c: Canvas, x: float, y: float, photo: bytes | None) -> None:
    image = _photo_reader(photo) if photo else None
    c.saveState()
    if image is None:
        _ensure_placeholder(c)
        c.translate(x, y)
        c.doForm(_PLACEHOLDER_FORM)
    else:
        iw, ih = image.getSize()
        # Cover the frame (crop the overflow) rather than letterbox: a face fills the frame.
        scale = max(PHOTO_WIDTH / iw, PHOTO_HEIGHT / ih)
        w, h = iw * scale, ih * scale
        clip = c.beginPath()
        clip.rect(x, y, PHOTO_WIDTH, PHOTO_HEIGHT)
        c.clipPath(clip, stroke=0, fill=0)
        c.drawImage(image, x + (PHOTO_WIDTH - w) / 2, y + (PHOTO_HEIGHT - h) / 2, w, h)
    c.restoreState()
    c.setLineWidth(0.5)
    c.rect(x, y, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=1, fill=0)


def _photo_reader(photo: bytes) -> ImageReader | None:
    """The photo ready for the PDF: a small upright RGB/grey JPEG goes in byte for byte,
    anything else (PNG, alpha, EXIF-rotated, CMYK, a 12-megapixel phone picture) is made into
    one first. None (the silhouette is drawn) if the bytes are not a usable image."""
    try:
        im = Image.open(io.BytesIO(photo))
        if (
            im.format == "JPEG"
            and im.mode in ("RGB", "L")
            and max(im.size) <= _PASS_THROUGH_PX
            and len(photo) <= _PASS_THROUGH_BYTES
            and im.getexif().get(_EXIF_ORIENTATION, 1) == 1
        ):
            return _JpegPassThrough(photo)
        im = ImageOps.exif_transpose(im)
        im.thumbnail((_PHOTO_MAX_PX, _PHOTO_MAX_PX))
        if im.mode not in ("RGB", "L"):
            rgba = im.convert("RGBA")
            im = Image.new("RGB", rgba.size, "white")
            im.paste(rgba, mask=rgba.getchannel("A"))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=88)
        return _JpegPassThrough(buf.getvalue())
    except Exception:  # noqa: BLE001 - a bad photo must not stop a whole sheet from printing
        log.warning("card photo unreadable, printing the placeholder instead", exc_info=True)
        return None


class _JpegPassThrough(ImageReader):
    """A JPEG put into the PDF byte for byte. Plain ``ImageReader`` would also do that, but
    ``Canvas.drawImage`` first decodes every photo to name it by a digest of its pixels (a third
    of a 1,000-card sheet's time); the JPEG bytes name it just as well."""

    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self._jpeg = data

    def getRGBData(self):  # noqa: N802 - reportlab's name
        self._dataA = None
        return self._jpeg


def _ensure_placeholder(c: Canvas) -> None:
    """Define once per document the grey silhouette drawn where a card has no photo."""
    if c.hasForm(_PLACEHOLDER_FORM):
        return
    c.beginForm(_PLACEHOLDER_FORM, lowerx=0, lowery=0, upperx=PHOTO_WIDTH, uppery=PHOTO_HEIGHT)
    c.setFillGray(0.9)
    c.rect(0, 0, PHOTO_WIDTH, PHOTO_HEIGHT, stroke=0, fill=1)
    c.setFillGray(0.6)
    cx = PHOTO_WIDTH / 2
    c.circle(cx, PHOTO_HEIGHT * 0.62, PHOTO_WIDTH * 0.22, stroke=0, fill=1)
    shoulders = c.beginPath()
    shoulders.moveTo(PHOTO_WIDTH * 0.1, 0)
    shoulders.curveTo(PHOTO_WIDTH * 0.1, PHOTO_HEIGHT * 0.36, PHOTO_WIDTH * 0.9,
                      PHOTO_HEIGHT * 0.36, PHOTO_WIDTH * 0.9, 0)
    shoulders.close()
    c.drawPath(shoulders, stroke=0, fill=1)
    c.endForm()


def _crop_marks(c: Canvas, x: float, y: float) -> None:
    """Short hairlines on the extensions of the card's edges, outside the card and never
    reaching into the neighbouring card."""
    c.saveState()
    c.setLineWidth(0.25)
    c.setStrokeColorRGB(*INK)
    room_x = min(CROP_LENGTH, SHEET_GAP_X - 2 * CROP_OFFSET)
    room_y = min(CROP_LENGTH, SHEET_GAP_Y - 2 * CROP_OFFSET)
    for cx, dx in ((x, -1), (x + CARD_WIDTH, 1)):
        for cy, dy in ((y, -1), (y + CARD_HEIGHT, 1)):
            c.line(cx + dx * CROP_OFFSET, cy, cx + dx * (CROP_OFFSET + room_x), cy)
            c.line(cx, cy + dy * CROP_OFFSET, cx, cy + dy * (CROP_OFFSET + room_y))
    c.restoreState()
