"""Error pages: every failure answers in words, in the person's language, never a bare 500.

A request from an htmx panel gets the message as a small fragment, swapped where the panel was
(``templates/base.html`` tells htmx to swap 4xx/5xx answers too); boosted navigation and plain
requests get the whole page.
"""

from __future__ import annotations

from flask import Flask, render_template
from .i18n import _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .throttle import TooMany
from .tokens import KeyRingError
from .web import UnstorableText, wants_fragment

MESSAGES = {
    400: _l("Permintaan tidak bisa diproses. Muat ulang halaman lalu coba lagi."),
    401: _l("Silakan masuk terlebih dahulu."),
    403: _l("Anda tidak punya izin untuk membuka halaman ini."),
    404: _l("Halaman tidak ditemukan."),
    405: _l("Cara membuka halaman ini tidak diizinkan."),
    413: _l("Berkas terlalu besar."),
    429: _l("Terlalu banyak percobaan. Tunggu beberapa menit lalu coba lagi."),
    500: _l("Terjadi kesalahan di server. Data Anda tidak tersimpan sebagian; silakan coba lagi."),
}
UNSTORABLE_TEXT = _l("Ada isian yang berisi karakter yang tidak bisa disimpan (karakter NUL). Tidak ada yang "
                     "disimpan. Hapus isian itu, ketik ulang, lalu kirim lagi.")


def render_error(code: int, message=None):
    """Render the error page (or fragment for htmx) with a status code."""
    message = message or MESSAGES.get(code) or MESSAGES[500]
    template = "errors/_message.html" if wants_fragment() else "errors/error.html"
    return render_template(template, code=code, message=message), code


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _l("Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi."))

    @app.errorhandler(UnstorableText)
    def unstorable_text(error):
        return render_error(400, UNSTORABLE_TEXT)

    @app.errorhandler(KeyRingError)
    def card_key_missing(error: KeyRingError):
        # A server without a card key the installation uses (several servers, secrets not
        # shared): say so, instead of a 500 on every card picture.
        db.session.rollback()
        app.logger.error("card key: %s", error)
        return render_error(503, _l(
            "Kartu dengan kunci %(key)s tidak bisa dibuat di server ini: kuncinya tidak ada di sini. "
            "Buat dari server lain, atau minta petugas TI memberi server ini folder rahasia yang sama "
            "(docs/operations.md, bagian \"Several servers\").", key=error.key_id or "?"))

    @app.errorhandler(TooMany)
    def too_many(error: TooMany):
        body, code = render_error(429, error.message)
        return body, code, {"Retry-After": str(error.seconds)}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code and error.code < 400:
            return error
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500)
