"""Cards: a 1,000-card A4 PDF (kiosk.cards.sheet_pdf, 10 cards a page) against its ceiling, the
1,000 QR matrices alone (kiosk.cards.qr_matrix). Distinct tokens, signed as the app signs them,
and the QR cache (``_qr_matrix``'s lru_cache) cleared before every timing so both sides compute
every code. Faces carry no photo (the drawn silhouette), as for workers enrolled without one.
Median of REPEATS; figures in seconds and the ratio of throughputs (cards/s ÷ matrices/s)."""

from __future__ import annotations

import time
from datetime import timedelta

from . import dataset
from .common import BenchResult, Context, NotAvailable, median

REPEATS = 3


def _faces(ctx: Context, count: int):
    from kiosk.cards import CardFace
    from kiosk.nik import mask_nik

    instance = dataset.make_instance(ctx, "cards", sqlite=False)
    tokens = dataset.tokens_for(instance, range(1, count + 1))
    niks, codes = dataset.NikMaker(), dataset.FallbackCodes()
    today = dataset.today_jakarta()
    faces = []
    for i, token in enumerate(tokens, start=1):
        nik = niks(i - 1)[0]
        faces.append(CardFace(
            token=token, fallback_code=codes(i), name=f"{dataset.FIRST[i % 24]} {dataset.LAST[i % 18]} binti Ahmad",
            masked_nik=mask_nik(nik), kpj=f"{25_000_000_000 + i}", coverage_start=today - timedelta(days=30),
            coverage_end=today + timedelta(days=60),
        ))
    return faces


def run(ctx: Context) -> BenchResult:
    try:
        from kiosk import cards
    except ImportError as error:
        raise NotAvailable(f"kiosk.cards cannot be imported: {error}") from error
    for name in ("sheet_pdf", "qr_matrix", "CardFace"):
        if not hasattr(cards, name):
            raise NotAvailable(f"kiosk.cards.{name} is missing")
    result = BenchResult("cards")
    count = ctx.size(1_000, 100)
    faces = _faces(ctx, count)
    cache_clear = getattr(getattr(cards, "_qr_matrix", None), "cache_clear", lambda: None)
    pdf_times, qr_times, size = [], [], 0
    for _ in range(REPEATS if not ctx.quick else 1):
        cache_clear()
        t0 = time.perf_counter()
        for face in faces:
            cards.qr_matrix(face.token)
        qr_times.append(time.perf_counter() - t0)
        cache_clear()
        t0 = time.perf_counter()
        pdf = cards.sheet_pdf(faces)
        pdf_times.append(time.perf_counter() - t0)
        size = len(pdf)
    pages = None
    try:
        import pypdfium2

        doc = pypdfium2.PdfDocument(pdf)
        pages = len(doc)
        doc.close()
    except Exception:  # noqa: BLE001 - the page count is a sanity check only
        pass
    pdf_s, qr_s = median(pdf_times), median(qr_times)
    result.raw = {"cards": count, "pdf_seconds": pdf_times, "qr_seconds": qr_times, "pdf_bytes": size, "pages": pages}
    result.add(f"{count:,}-card A4 PDF", pdf_s, "s", note=f"{pages} pages, {size / 1e6:.1f} MB, {count / pdf_s:.0f} cards/s")
    result.add(f"ceiling: {count:,} QR matrices alone", qr_s, "s", note=f"{count / qr_s:.0f} matrices/s")
    result.add("PDF ÷ ceiling (throughput)", qr_s / pdf_s * 100, "%",
               note="the share of the PDF's time that is the QR codes themselves")
    return result
