"""Reading what the app writes, as a person would: the text of each page of a PDF."""

from __future__ import annotations

import pypdfium2 as pdfium


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF."""
    pdf = pdfium.PdfDocument(data)
    try:
        texts = []
        for page in pdf:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        pdf.close()
