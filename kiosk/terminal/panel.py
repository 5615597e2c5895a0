"""The result panel (``terminal/_panel.html``) answering a scan or an AMBIL, drawn from its shapes.

Drawing the panel through Jinja was a quarter of a scan's server time, and two answers that
differ only in the person are the same text with different words in the same places: the name,
the masked NIK, the photo's address, the AMBIL ticket, the package number, a sembako message
that names the package, the time or the desk, and the kiosk's form token (the *holes*). So the
panel is drawn by Jinja once per *shape* -- everything else it is given: the language, the
coverage and sembako states, the dates, the refusal, the seconds, a sembako message without
parameters (the same words for everyone in a language) -- with a marker in each hole,
and each answer of that shape is the stored text with every marker replaced by its value,
escaped exactly as Jinja escapes it (``markupsafe.escape``, its autoescape).

What keeps an answer the same as Jinja's (``tests/test_panel_shapes.py`` checks each):

- **The key is all the rest.** Every field of the result (recursively, its dataclasses), every
  other value of the context, the language and the script root. A value that cannot be keyed
  (an unknown type) sends the answer to Jinja.
- **What the panel must not read, it cannot.** The worker's id, NIK and photo name, the
  collection's moment, station and "replayed", and the device are ``UNREAD`` in a shape: any use
  of one fails, and the shape is then drawn by Jinja every time.
- **A hole is only printed.** A shape is drawn twice, with short and with long markers of
  different case: a template whose text depends on a hole's length or case (a filter, a
  condition) draws them differently, and that shape goes to Jinja.
- **Checked once against Jinja.** A new shape's filled text is compared with Jinja's own answer
  for the values it was first asked with; any difference sends the shape to Jinja, and is logged.
- **The template reads nothing else.** ``PANEL_NAMES``: the names it may take from its context
  (a test compares them with what the template reads). What it reads from the request must be in
  the key (the language, the script root).
- **Bounded.** At most ``SHAPES`` shapes per app and process, the least recently used dropped
  first.
- **Learnt when seen again.** Drawing a shape costs three renders and a comparison, so a shape
  is learnt at its second answer; the first is Jinja's. Answers that never repeat their shape
  (every worker with coverage dates of their own) cost Jinja's render and the key, no more.

A hole's value is put in only when it is true (a name, a seq of 1 or more); a false one (``None``,
an empty text) is part of the key, as the template may test it. An answer that prints a slip
reads the office's settings, and is always drawn by Jinja; so is every answer while templates
are reloaded when they change (``TEMPLATES_AUTO_RELOAD``, Flask's debug mode).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections import OrderedDict
from datetime import date, datetime
from enum import Enum

from flask import current_app, render_template, request
from flask_babel import get_locale
from markupsafe import Markup, escape

from ..i18n import Message

log = logging.getLogger("kiosk.terminal")

TEMPLATE = "terminal/_panel.html"
SHAPES = 1024
# What the panel template may take from its context (its own, the kiosk's context processor's
# and the app's template globals): anything else it read could differ between two answers of
# one shape. ``setting`` is read by a slip only, and an answer with a slip is never a shape.
PANEL_NAMES = frozenset({"error", "result", "seconds", "help_desk", "slip", "icons", "kiosk_urls", "_", "_t",
                         "csrf_token", "setting"})
MARK = "\x00"  # a marker's edges; any other NUL in a shape's text sends that shape to Jinja


class _ReadUnread(Exception):
    """The panel read a value it must not read (``UNREAD``)."""


class _Unread:
    """A value the panel must not read: printing, testing, comparing, iterating or looking into
    it raises (``_ReadUnread``), so the shape that read it goes to Jinja."""

    __slots__ = ()

    def _refuse(self, *_args, **_kwargs):
        raise _ReadUnread

    __str__ = __repr__ = __html__ = __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __iter__ = __len__ = __contains__ = __getitem__ = __format__ = __int__ = __index__ = __float__ = _refuse
    __add__ = __radd__ = __mod__ = __rmod__ = __call__ = _refuse
    __hash__ = object.__hash__

    def __getattr__(self, _name):
        raise _ReadUnread


UNREAD = _Unread()
_UNREAD_KEY = ("unread",)


class _Unkeyable(Exception):
    """A value the key cannot hold: the answer is drawn by Jinja."""


class _Holes:
    """The values put into one answer's holes, in the order the shape met them; each hole is
    written as ``mark(index)``."""

    __slots__ = ("mark", "values")

    def __init__(self, mark):
        self.mark = mark
        self.values: list = []

    def add(self, value):
        """The marker standing for ``value`` in the shape, or the value itself when false (a
        ``Message`` is not asked: its truth is its translation, made when it is printed)."""
        if value.__class__ is not Message and not value:
            return value
        self.values.append(value)
        return self.mark(len(self.values) - 1)


def _short(index: int) -> str:
    return f"{MARK}h{index}{MARK}"


def _long(index: int) -> str:
    return f"{MARK}HOLE-{index}-Of-The-Kiosk-Panel-{'w' * 48}{MARK}"


_SHORT = re.compile(r"h(\d+)")
_LONG = re.compile(r"HOLE-(\d+)-Of-The-Kiosk-Panel-w{48}")
_SCALARS = (str, int, float, date, Enum)  # bool is an int; a Markup, a str


def _key(value):
    """``value`` as a hashable key: a plain text, whole number, date or moment as itself (no two
    of those are equal), any other scalar with its type (``True`` is not ``1``, a ``Markup`` is
    not a ``str``), each dataclass field by field, a translatable text by its id and parameters
    (the language is in the key)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if value is UNREAD:
        return _UNREAD_KEY
    if isinstance(value, _SCALARS):
        return (kind, value)
    if kind is Message:
        return (kind, value._args[0], tuple((name, _key(v)) for name, v in sorted(value._kwargs.items())))
    if dataclasses.is_dataclass(value):
        return (kind, *[_key(getattr(value, name)) for name in _field_names(kind)])
    if kind in (list, tuple):
        return (kind, *[_key(item) for item in value])
    raise _Unkeyable(kind.__name__)


_PLAIN = frozenset({str, int, type(None), date, datetime})
_fields: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    found = _fields.get(kind)
    if found is None:
        found = _fields[kind] = tuple(field.name for field in dataclasses.fields(kind))
    return found


def _shape(context: dict, holes: _Holes) -> dict:
    """``context`` with the person taken out: each hole written by ``holes``, each value the panel
    must not read ``UNREAD``. The result's worker must be the scan's own (``ScannedWorker``)."""
    from .screen import ScannedWorker

    result = context.get("result")
    if result is not None:
        changes = {"masked_nik": holes.add(result.masked_nik), "photo_url": holes.add(result.photo_url)}
        worker = result.worker
        if worker is not None:
            if type(worker) is not ScannedWorker:
                raise _Unkeyable(type(worker).__name__)
            changes["worker"] = ScannedWorker(id=UNREAD, name=holes.add(worker.name), nik=UNREAD, photo=UNREAD)
        sembako = result.sembako
        if sembako is not None:
            changes["sembako"] = _replace(
                sembako, ticket=holes.add(sembako.ticket), seq=holes.add(sembako.seq),
                message=sembako.message if _same_for_everyone(sembako.message) else holes.add(sembako.message),
                collected_at=UNREAD, station=UNREAD, replayed=UNREAD,
            )
        result = _replace(result, **changes)
    shaped = {**context, "result": result, "device": UNREAD}
    shaped["csrf_token"] = _CsrfHole(holes.add(_form_token()))  # made once per request (views)
    return shaped


def _same_for_everyone(text) -> bool:
    """A translatable text without parameters ("Paket Anda tersedia — tekan AMBIL") says the
    same to everyone in a language: it is part of the key (the language is), not a hole, so the
    shape holds its translation and no answer translates it again (two flask-babel look-ups a
    scan). One with parameters (a package number, a time, a desk) is a hole."""
    return type(text) is Message and not text._kwargs


def _replace(view, **changes):
    """A copy of the view model ``view`` (a dataclass of the screen's, its fields in its
    ``__dict__``) with ``changes``: ``dataclasses.replace`` without its checks, which looked up
    every field's definition on each call (twice per answer)."""
    if not hasattr(view, "__dict__"):  # a view model with __slots__
        return dataclasses.replace(view, **changes)
    copy = object.__new__(type(view))
    copy.__dict__.update(view.__dict__, **changes)
    return copy


class _CsrfHole:
    """``csrf_token()`` in a shape: the marker of the form token's hole."""

    __slots__ = ("marker",)

    def __init__(self, marker: str):
        self.marker = marker

    def __call__(self) -> str:
        return self.marker


def _form_token() -> str:
    from .views import form_token

    return form_token()


class _Parts(tuple):
    """A shape's text: its pieces of text, and in between the index of the hole that goes there."""

    __slots__ = ()

    def fill(self, values: list) -> str:
        filled = {}
        out = []
        for part in self:
            if part.__class__ is str:
                out.append(part)
                continue
            text = filled.get(part)
            if text is None:
                text = filled[part] = escape(values[part])
            out.append(text)
        return "".join(out)


def _parts(text: str, pattern: re.Pattern) -> _Parts | None:
    """``text`` cut at its markers, or None when something between two ``MARK`` is no marker."""
    pieces = text.split(MARK)
    if len(pieces) % 2 == 0:
        return None
    parts: list = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            if piece:
                parts.append(piece)
            continue
        found = pattern.fullmatch(piece)
        if found is None:
            return None
        parts.append(int(found[1]))
    return _Parts(parts)


_NOT_KEYED = frozenset({"device", "csrf_token"})  # UNREAD and a hole
_BY_JINJA = _Parts()  # a shape that is always drawn by Jinja (the marker of one)
_SEEN = _Parts(("seen once",))  # a shape seen once, not drawn yet
_EXTENSION = "kiosk.panel_shapes"


class _Shapes:
    """One app's shapes, the least recently used first."""

    def __init__(self):
        self.lock = threading.Lock()
        self.parts: OrderedDict = OrderedDict()

    def get(self, key: tuple) -> _Parts | None:
        with self.lock:
            found = self.parts.get(key)
            if found is not None:
                self.parts.move_to_end(key)
            return found

    def put(self, key: tuple, parts: _Parts) -> None:
        with self.lock:
            self.parts[key] = parts
            while len(self.parts) > SHAPES:
                self.parts.popitem(last=False)


def _shapes() -> _Shapes:
    found = current_app.extensions.get(_EXTENSION)
    if found is None:
        found = current_app.extensions.setdefault(_EXTENSION, _Shapes())
    return found


def render(context: dict) -> str:
    """The panel for ``context`` (what the kiosk's views give ``terminal/_panel.html``)."""
    if context.get("slip") or context.get("error") is not None or current_app.jinja_env.auto_reload:
        return _jinja(context)  # a slip reads the settings; templates edited while the app runs
    holes = _Holes(_short)
    try:
        shaped = _shape(context, holes)
        key = (str(get_locale()), request.script_root,
               *[(name, _key(value)) for name, value in shaped.items() if name not in _NOT_KEYED])
    except _Unkeyable:
        return _jinja(context)
    except Exception as error:  # noqa: BLE001 - a view model this module does not know: Jinja's answer
        log.warning("kiosk panel: cannot key an answer (%s); drawn by Jinja", type(error).__name__)
        return _jinja(context)
    shapes = _shapes()
    parts = shapes.get(key)
    if parts is None:  # a shape seen once is drawn by Jinja: only one seen again is learnt
        shapes.put(key, _SEEN)
        return _jinja(context)
    if parts is _SEEN:
        return _learn(key, context, shaped, holes)
    if parts is _BY_JINJA:
        return _jinja(context)
    return parts.fill(holes.values)


def _learn(key: tuple, context: dict, shaped: dict, holes: _Holes) -> str:
    """Draw a new shape, keep it if it holds (see the module's docstring), and answer."""
    answer = _jinja(context)
    parts = _draw(context, shaped)
    if parts is not None and parts.fill(holes.values) != answer:
        log.warning("kiosk panel: a shape's answer differs from the template's; that shape is drawn by Jinja")
        parts = None
    _shapes().put(key, _BY_JINJA if parts is None else parts)
    return answer


def _draw(context: dict, shaped: dict) -> _Parts | None:
    """The shape's text, or None when the panel read what it must not, or its text depends on
    more than where each hole is."""
    try:
        short = _parts(_jinja(shaped), _SHORT)
        long = _parts(_jinja(_shape(context, _Holes(_long))), _LONG)
    except _ReadUnread:
        return None
    except Exception as error:  # noqa: BLE001 - a marker the template could not take (compared, counted)
        # The error's kind only: its text or traceback could carry what the shape holds.
        log.warning("kiosk panel: the template cannot draw a shape (%s); that shape is drawn by Jinja",
                    type(error).__name__)
        return None
    return short if short is not None and short == long else None


def _jinja(context: dict) -> str:
    return render_template(TEMPLATE, **context)


def forget() -> None:
    """Drop this app's shapes (a template changed while the app runs; tests)."""
    current_app.extensions.pop(_EXTENSION, None)
