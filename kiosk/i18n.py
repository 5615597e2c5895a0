"""Languages: Bahasa Indonesia by default, English on request (one tap on every screen).

The Indonesian text is the message id (``_("Masuk")``), so the default language never depends on
a catalog being complete; ``kiosk/translations/en`` holds the English. The choice is kept in a
long-lived ``lang`` cookie so a kiosk or tablet keeps it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request
from flask_babel import format_datetime, get_locale, get_translations
from flask_babel import gettext as _gettext
from flask_babel.speaklater import LazyString
from jinja2 import pass_context
from jinja2.ext import Extension
from markupsafe import Markup, escape

from .web import safe_next

LANG_COOKIE = "lang"


class Message(LazyString):
    """A text for a person, translated when it is shown, in that person's language.

    ``_l("NIK ini sudah terdaftar atas nama %(name)s.", name=worker.name)``: the parameters are
    data, never markup. ``str()`` gives the plain text (documents, sheets, logs, the CLI); in a
    page, a fragment or a flash (``__html__``, which Jinja and Flask's session use) the text and
    every parameter are escaped, whatever a person typed into them. Every translatable text in
    Python goes through here; flask-babel's own lazy strings present themselves as safe HTML
    (``__html__`` returns the formatted text unescaped), so a name could act in a page.
    """

    def __init__(self, text: str, **params):
        super().__init__(_gettext, text, **params)

    def __html__(self) -> Markup:
        translated = escape(_gettext(self._args[0]))  # no parameters: nothing is formatted yet
        return translated % self._kwargs if self._kwargs else translated

    @property
    def indonesian(self) -> str:
        """The text in Bahasa Indonesia (the message id), formatted: for office documents."""
        return indonesian(self._args[0], **self._kwargs)


def _l(text: str, **params) -> Message:
    """Mark ``text`` for translation (``pybabel extract -k _l``); see ``Message``."""
    return Message(text, **params)


bp = Blueprint("i18n", __name__)


def select_locale() -> Locale:
    """The language of this request: the ``lang`` cookie if it names a known one, else Indonesian.
    A ``Locale`` (made once per language): flask-babel takes it as it is, where a name would be
    parsed again on every request."""
    config = current_app.config
    if not has_request_context():  # CLI, threads, documents: the office's language
        return _locale(config["BABEL_DEFAULT_LOCALE"])
    cookies = request.cookies
    # ``in`` first: werkzeug's ``get`` of an absent key raises and catches an HTTP exception.
    chosen = cookies[LANG_COOKIE] if LANG_COOKIE in cookies else ""
    if chosen in config["LANGUAGES"]:
        return _locale(chosen)
    return _locale(config["BABEL_DEFAULT_LOCALE"])


@lru_cache(maxsize=None)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def set_language(response, lang: str):
    """Keep ``lang`` as this browser's language (the ``lang`` cookie) from the next request on."""
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.post("/bahasa/<lang>")
def switch(lang: str):
    """Switch the interface language and go back to where the person was."""
    return set_language(redirect(safe_next(request.form.get("next") or request.referrer, "/")), lang)


def tanggal(value: date | datetime | None, long: bool = True) -> str:
    """A date the Indonesian way: "19 November 2020" (or "19 Nov 2020" when ``long`` is False)."""
    if value is None:
        return "–"
    pattern = "d MMMM y" if long else "d MMM y"
    if isinstance(value, datetime):
        return format_datetime(value, pattern)
    return _date_in(str(get_locale()), value, pattern)


@lru_cache(maxsize=4096)
def _date_in(locale: str, value: date, pattern: str) -> str:
    """A date (not a moment: no time zone) in ``locale``, formatted once per process."""
    return babel_format_date(value, pattern, locale=locale)


class _Texts(dict):
    """One language's template texts, each translated on its first use. The catalog does not
    change while the app runs, so a page's ``{{ _("…") }}`` is a dictionary look-up, not a trip
    through flask-babel's request context for every text; parameters are still escaped by Jinja."""

    def __missing__(self, text: str) -> str:
        found = self[text] = _gettext(text)  # the request's language: the one this dict is for
        return found


_texts_by_lang: dict[str, _Texts] = {}


def texts_for(lang: str) -> _Texts:
    """The cached texts of ``lang`` (a page's ``_t``, and what its ``_()`` looks up)."""
    found = _texts_by_lang.get(lang)
    if found is None:
        found = _texts_by_lang.setdefault(lang, _Texts())
    return found


@pass_context
def _template_gettext(context, text: str) -> str:
    return texts_for(context.get("page_lang") or str(get_locale()))[text]


class _PageTexts:
    """``_t`` where no page context reaches (a macro imported without context): the texts of
    the request's language, looked up at each use."""

    def __getitem__(self, text: str) -> str:
        return texts_for(str(get_locale()))[text]


class KioskTexts(Extension):
    """The kiosk's plain ``{{ _("…") }}`` as a dictionary look-up, not a call.

    In Jinja every call in a template goes through ``Context.call`` (a few microseconds of
    checks), and a kiosk answer has a dozen texts: for the templates under ``terminal/``, this
    rewrites ``_("text")`` and ``_('text')`` without parameters (and without ``%``) to
    ``_t["text"]``, where ``_t`` is the page language's ``texts_for``. The source keeps the
    ``_()``, so ``make extract-messages`` still finds every text; the result is the same plain
    string, escaped by Jinja like any other."""

    _CALL = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q))[^\\%\n]|\\.)*)(?P=q)\s*\)""")

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if not (name or "").startswith("terminal/"):
            return source
        return self._CALL.sub(lambda m: f"_t[{m['q']}{m['text']}{m['q']}]", source)


@pass_context
def kiosk_text(context, text: str, **params):
    """``_()`` on the kiosk's screens (``terminal/*.html``, given by the kiosk's context
    processor): the cached translation in one call instead of Jinja's three nested ones (alias,
    newstyle wrapper, gettext), as a plain string that Jinja escapes like any other; with
    parameters (or a ``%``), ``escape(text) % params``, which escapes each parameter as Jinja's
    newstyle gettext does. The kiosk's texts hold no markup (tests/test_terminal_views.py
    checks), so a screen reads the same; only a quote in a text is sent as ``&#39;``."""
    found = texts_for(context.get("page_lang") or str(get_locale()))[text]
    if params or "%" in found:
        return escape(found) % params
    return found


def waktu(value: datetime | None) -> str:
    """A moment in Asia/Jakarta time: "19 Nov 2020 10.32"."""
    if value is None:
        return "–"
    return format_datetime(value, "d MMM y HH.mm")


def tanggal_indonesian(value: date, long: bool = True) -> str:
    """Indonesian date outside a request (PDF documents, CLI)."""
    return babel_format_date(value, "d MMMM y" if long else "d MMM y", locale="id")


def hari_tanggal_indonesian(value: date) -> str:
    """Indonesian weekday and date outside a request: "Selasa, 24 November 2026"."""
    return babel_format_date(value, "EEEE, d MMMM y", locale="id")


def indonesian(text: str, **values) -> str:
    """Text of an office document (BAST, lists, sheets): always Bahasa Indonesia, whatever the
    screen's language, so never translated and never in the catalog."""
    return text % values if values else text


def waktu_indonesian(value: datetime, tz: str = "Asia/Jakarta") -> str:
    """Indonesian date and time outside a request (PDF documents, CLI)."""
    return babel_format_datetime(value, "d MMM y HH.mm", tzinfo=tz, locale="id")


def init_app(app: Flask) -> None:
    """Register the language switch and the date filters."""
    app.register_blueprint(bp)
    app.add_template_filter(tanggal)
    app.add_template_filter(waktu)
    from . import days

    app.add_template_filter(days.field_text, "isian_tanggal")  # a date field's value: 17/08/2026
    app.add_template_global(lambda: str(get_locale()), "current_lang")
    app.jinja_env.add_extension(KioskTexts)
    app.add_template_global(_PageTexts(), "_t")  # a page's context gives its own (page_language)

    @app.context_processor
    def page_language() -> dict:
        lang = str(get_locale())
        return {"page_lang": lang, "_t": texts_for(lang)}

    # flask-babel installed its own callables; this replaces them with the same, but gettext cached.
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
