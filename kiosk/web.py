"""What every response shares: security headers, ``Vary`` on the htmx headers, the choice of a
fragment or the whole page, safe redirects, template helpers."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

from typing import Mapping

from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

import flask
from flask import Flask, abort, g, make_response, render_template, request, session
from flask.logging import default_handler
from flask.sessions import SecureCookieSessionInterface

from .characters import typed
from .extensions import htmx

request_log = logging.getLogger("kiosk.request")

CSP = "; ".join(
    [
        "default-src 'self'",
        # wasm-unsafe-eval: the QR decoder is WebAssembly; no inline script, no eval.
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
)


class AnswerHeaders:
    """What every answer of the app carries, added to its header list where it leaves Flask (the
    WSGI ``start_response``), in one pass:

    - the security headers (those a view set itself stay);
    - ``Strict-Transport-Security`` over HTTPS (a view's own stays);
    - ``Cache-Control: no-store``: personal data must not linger in a shared tablet's cache
      after sign-out: every answer but the static files is no-store, downloads too (send_file
      would say no-cache: kept on disk);
    - ``Vary`` on the htmx headers: every page may answer an htmx request with a fragment, so
      caches must keep the answers apart by them.

    Here rather than in an ``after_request`` hook: the constant headers are appended to the list
    of string pairs the server writes, instead of going through Werkzeug's ``Headers`` (checked
    on the way in, copied and checked again on the way out): 4.5 % of a kiosk scan's instructions
    (bench/README.md, "Scan, seventh pass"). And every answer gets them, also one whose
    ``after_request`` hooks failed. Static files served before Flask (``static_files``) get
    theirs there; one Flask serves (a file added while it runs, a 404) gets the security
    headers only."""

    def __init__(self, wsgi_app, static_url_path: str | None):
        self.wsgi_app = wsgi_app
        self.static_prefix = f"{static_url_path}/" if static_url_path is not None else None

    def __call__(self, environ: dict, start_response):
        secure = environ.get("wsgi.url_scheme") == "https"
        static = self.static_prefix is not None and environ.get("PATH_INFO", "").startswith(self.static_prefix)

        def start(status, headers, exc_info=None):
            add_answer_headers(headers, secure=secure, static=static)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


SECURITY_NAMES = frozenset(name.lower() for name, _ in SECURITY_HEADERS)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def add_answer_headers(headers: list[tuple[str, str]], *, secure: bool, static: bool) -> None:
    """``AnswerHeaders``'s work on one answer's WSGI header list (changed in place)."""
    present = {name.lower() for name, _ in headers}
    if present.isdisjoint(SECURITY_NAMES):
        headers.extend(SECURITY_HEADERS)
    else:
        headers.extend(pair for pair in SECURITY_HEADERS if pair[0].lower() not in present)
    if secure and "strict-transport-security" not in present:
        headers.append(HSTS)
    if static:
        return
    if "cache-control" in present:
        caching = [value for name, value in headers if name.lower() == "cache-control"]
        if not any("no-store" in value for value in caching):
            headers[:] = [pair for pair in headers if pair[0].lower() != "cache-control"]
            headers.append(("Cache-Control", "no-store"))
    else:
        headers.append(("Cache-Control", "no-store"))
    if "vary" not in present:
        headers.append(("Vary", VARY_ON_HTMX))  # the same header, without parsing one first
        return
    # One Vary: the answer's own (the session's Cookie, a view's), each name once, then the htmx
    # headers it lacks. Vary holds header names only (no quoted strings): a comma splits it.
    names: dict[str, str] = {}
    for name, value in headers:
        if name.lower() == "vary":
            for part in value.split(","):
                if part := part.strip():
                    names.setdefault(part.lower(), part)
    for name in HTMX_HEADERS:
        names.setdefault(name.lower(), name)
    headers[:] = [pair for pair in headers if pair[0].lower() != "vary"]
    headers.append(("Vary", ", ".join(names.values())))


def _local_path(target: str) -> bool:
    """True when a browser reads ``target`` as a path on this site. Browsers drop tabs and
    newlines inside a URL and read ``\\`` as ``/``, so ``/\\x`` and ``/<tab>/x`` mean ``//x``:
    another host. The path is also checked percent-decoded, so that no later decoding step
    (``%2F%2Fx``) can turn it into one."""
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    path = unquote(target.split("?", 1)[0])
    if any(ord(ch) < 32 or ord(ch) == 127 or ch.isspace() for ch in path):
        return False
    return not path.startswith(("//", "/\\"))


# What decides between a fragment and a page: caches must keep the answers apart by them.
HTMX_HEADERS = ("HX-Request", "HX-Target", "HX-Boosted", "HX-History-Restore-Request")
VARY_ON_HTMX = ", ".join(HTMX_HEADERS)


def wants_fragment(target: str | None = None) -> bool:
    """True when htmx asks to swap one element (``target``, its id; None: any): boosted
    navigation and a history restore get the whole page, like a request without htmx."""
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def fragment_or_page(page: str, fragments: Mapping[str, str], context: Mapping, status: int = 200,
                     headers: dict | None = None):
    """Render the fragment template of ``fragments`` (element id -> template) whose element htmx
    asks for, else ``page``, with ``context``. The page includes its fragments, so their markup
    exists once; ``Vary`` is set for every answer by ``AnswerHeaders``."""
    template = next((name for target, name in fragments.items() if wants_fragment(target)), page)
    return make_response(render_template(template, **context), status, headers or {})


def safe_next(target: str | None, fallback: str) -> str:
    """Return ``target`` if it is a path on this site, else ``fallback`` (no open redirects).

    A full URL of this very host (a Referer) is cut to its path, which must then pass the same
    check: ``http://<this host>//other/x`` is not ``//other/x``."""
    if not target:
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:  # "http://[" and other unparseable URLs
        return fallback
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return fallback
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    return target if _local_path(target) else fallback


def photo_response(name: str | None):
    """A stored photo as a private, never-cached JPEG response; 404 when there is none."""
    from .photos import load

    data = load(name)
    if data is None:
        abort(404)
    response = make_response(data)
    response.mimetype = "image/jpeg"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def vendored_files(static_folder: str) -> dict[str, str]:
    """Map each vendored library's name to its versioned file: ``htmx`` -> ``vendor/htmx-2.0.8.min.js``."""
    found = {}
    for path in sorted(Path(static_folder, "vendor").glob("*.js")):
        name = path.name.split("-")[0] if "-" in path.name else path.stem
        found.setdefault(name, f"vendor/{path.name}")
    return found


def start_timer() -> None:
    g.request_started = time.perf_counter()


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnstorableText(BadRequest):
    """A NUL character in a query string, a URL part or a form field. Nobody types one, and
    PostgreSQL cannot store one in text (psycopg refuses the statement), so wherever it reached
    the database it would end as a server error, after whatever the request had done before."""

    description = "A NUL character in the request."


def refuse_unstorable_text() -> None:
    """Refuse a request carrying a NUL character (``UnstorableText``, 400) before any view runs,
    so nothing is done and the person reads why. Uploaded files are not looked at here (their
    readers refuse what they cannot read)."""
    req = request._get_current_object()
    query = req.query_string
    if b"%00" in query or b"\x00" in query:
        raise UnstorableText()
    if req.view_args and any(isinstance(value, str) and "\x00" in value for value in req.view_args.values()):
        raise UnstorableText()
    if req.method in UNSAFE_METHODS:  # the form is parsed once: the views (and CSRF) read it anyway
        if any("\x00" in value for values in req.form.listvalues() for value in values):
            raise UnstorableText()


def log_request(response):
    """One structured line per request. The path only: query strings and bodies may hold a NIK
    being searched or a card token, and neither belongs in a log."""
    here, req = g._get_current_object(), request._get_current_object()  # one look-up each
    started = here.pop("request_started", None)
    endpoint = req.endpoint
    if endpoint == "static" or not request_log.isEnabledFor(logging.INFO):
        return response
    entry = {
        "method": req.method,
        "path": req.path,
        "endpoint": endpoint,
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
    }
    # Touching ``session`` marks it looked into (Flask 3.1), which adds ``Vary: Cookie`` to the
    # answer; Flask-Login's remember-cookie hook touches it on every request anyway, and that
    # header costs little (``CookieSessions``, ``add_answer_headers``).
    staff_id = session.get("_user_id") if session else None
    if staff_id:
        entry["staff"] = staff_id.split(".")[0]
    device_id = here.get("device_id")
    if device_id:
        entry["device"] = device_id
    line = json.dumps(entry, separators=(",", ":"))
    if not (_only_flask_handler() and _write_as_flask_would(req.environ, line)):
        request_log.info(line)
    return response


# The line Flask's default handler writes (``flask.logging.default_handler``), for a record of
# this module: "[2026-11-29 12:17:04,020] INFO in web: {...}".
FLASK_LOG_FORMAT = "[%(asctime)s] %(levelname)s in %(module)s: %(message)s"
_stamp: tuple[int, str] = (-1, "")


def _only_flask_handler() -> bool:
    """True when a request log line can only end in Flask's default handler, as on a server as
    installed (nothing in ``logging`` configured): no handler or filter on the way but that one,
    which formats as Flask made it (a logger's filters see only its own records, so the request
    log's are the ones that count). Then ``log_request`` writes the line itself, as that handler
    would, without ``logging``'s work for each record (the record, the caller's frame, the
    formatter, two look-ups of the stream behind a proxy): 4.5 % of a kiosk scan's instructions
    (bench/README.md, "Scan, sixth pass"). Any handler or filter added anywhere on the way (a
    logging configuration, a test capturing records) gets every line through ``logging``."""
    kiosk = request_log.parent
    formatter = default_handler.formatter
    return (
        not request_log.handlers and not request_log.filters and request_log.propagate
        and kiosk.handlers == [default_handler]
        and (not kiosk.propagate or not logging.root.handlers)
        and default_handler.level <= logging.INFO and not default_handler.filters
        and type(formatter) is logging.Formatter and formatter._fmt == FLASK_LOG_FORMAT
        and formatter.datefmt is None and formatter.converter is time.localtime
    )


def _write_as_flask_would(environ: dict, message: str) -> bool:
    """Write ``message`` as Flask's default handler writes a record of this module: to the WSGI
    server's error stream, under the handler's lock, flushed. False when the stream refused it
    (then ``logging`` has it, and handles the error as it does)."""
    global _stamp
    now = time.time()
    second = int(now)
    stamp = _stamp
    if stamp[0] != second:  # the time is formatted once a second, not once a line
        stamp = _stamp = (second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second)))
    line = f"[{stamp[1]},{int((now - second) * 1000):03d}] INFO in web: {message}\n"
    try:
        default_handler.acquire()
        try:
            stream = environ["wsgi.errors"]
            stream.write(line)
            stream.flush()
        finally:
            default_handler.release()
    except Exception:  # noqa: BLE001 - a log line never breaks an answer
        return False
    return True


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work for a request without a session cookie
    (every kiosk request, a first visit): Flask builds the cookie's serializer (a key
    derivation) before it looks for the cookie; here an absent cookie is an empty session at
    once, and an empty session nobody changed is not saved. A present cookie is read and saved
    exactly as Flask does it."""

    def open_session(self, app, request):
        if app.secret_key and request.cookies.get(self.get_cookie_name(app)) is None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        # An empty session nobody changed sets and deletes no cookie: only ``Vary: Cookie`` when
        # it was looked into, as Flask does (which first works out the cookie's name, domain,
        # path and flags).
        if not session and not session.modified:
            if session.accessed:  # merged into the answer's one Vary by ``add_answer_headers``
                response.headers.add("Vary", "Cookie")
            return
        super().save_session(app, session, response)


class Request(flask.Request):
    """Flask's request, with its form as typed text (``characters.typed``: control characters
    as spaces, invisible format characters gone, in every field and uploaded file's name, before
    any view or check reads them), minus form fields without a name: a malformed multipart part
    (e.g. a name of only a carriage return) parses to the key ``None``, which crashes
    Flask-WTF's CSRF check with a 500 before any view runs."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for name in ("form", "files"):
            data = self.__dict__.get(name)
            if data is not None and None in data:
                if name == "files":
                    for upload in data.getlist(None):
                        upload.close()  # request.close() only sees the files it keeps
                self.__dict__[name] = data = type(data)((k, v) for k, v in data.items(multi=True) if k is not None)
            if not data:
                continue
            if name == "form":
                if any(typed(value) is not value for _key, value in data.items(multi=True)):
                    self.__dict__[name] = type(data)((k, typed(v)) for k, v in data.items(multi=True))
            else:
                for _key, upload in data.items(multi=True):
                    if upload.filename:  # stored with an import; NUL is PostgreSQL's error
                        upload.filename = typed(upload.filename.replace("\x00", ""))


MAX_ROW_ID = 2**31 - 1  # the database's integer


def row_id(raw: str | None) -> int | None:
    """A database id typed into a query string or a form field: ASCII digits, 1..2**31-1; else
    None (like an unknown id). ``"²".isdigit()`` is true but ``int("²")`` fails, and a larger
    number is a PostgreSQL "integer out of range" (or SQLite overflow) error: both were 500s."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ROW_ID else None


class RowId(IntegerConverter):
    """``<int:...>`` in every route: a database id, so at most 2**31-1. A larger number is a
    404 like any unknown id, never a PostgreSQL "integer out of range" error."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ROW_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_app(app: Flask) -> None:
    """Register the response hooks and template helpers."""
    app.url_map.converters["int"] = RowId
    app.request_class = Request
    app.session_interface = CookieSessions()
    request_log.setLevel(logging.INFO)  # propagates to the app logger's handler (stderr)
    # Touching app.logger attaches Flask's stderr handler to the "kiosk" logger; until then the
    # request log fell through to logging's last resort (warnings only) and was lost.
    app.logger  # noqa: B018
    app.before_request(start_timer)
    app.before_request(refuse_unstorable_text)
    app.after_request(log_request)
    app.wsgi_app = AnswerHeaders(app.wsgi_app, app.static_url_path)
    vendored = vendored_files(app.static_folder)
    app.add_template_global(lambda name: vendored[name], "vendored")
