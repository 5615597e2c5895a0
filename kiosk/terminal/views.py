"""Kiosk screen views: pairing, welcome, scan result, collecting a package, staff exit.

Every route except pairing needs a paired device (the credential cookie, see ``pairing``). The
scan result is one panel (``#scan-result``, ``terminal/_panel.html``): a plain POST gets the whole
kiosk page, an htmx request aimed at the panel gets the panel alone.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    g,
    get_template_attribute,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from ..i18n import _l, kiosk_text, set_language
from markupsafe import Markup
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.exceptions import HTTPException

from .. import clock, settings, throttle, tokens
from ..database import one_connection
from ..extensions import csrf, db, htmx
from ..web import UNSAFE_METHODS, UnstorableText, fragment_or_page, photo_response, safe_next, wants_fragment
from . import bp, pairing, panel, tickets
from .screen import build_claim_result, build_result, looks_typed, read_scan

log = logging.getLogger("kiosk.terminal")

PANEL = "scan-result"
PHOTO_SECONDS = 120
TICKET_SECONDS = 600


class _Icons(dict):
    """The kiosk's icons by ``(name, size)``: the macro of terminal/_icons.html, rendered once per
    process instead of on every answer. A template reads ``icons["ok", 96]`` (a look-up, not a
    call: see ``i18n.KioskTexts``)."""

    def __missing__(self, key: tuple[str, int]) -> Markup:
        name, size = key
        # A macro's output is Markup already (autoescaped template): nothing typed is in it.
        found = self[key] = get_template_attribute("terminal/_icons.html", "icon")(name, size)
        return found


bp.add_app_template_global(_Icons(), "icons")


# The kiosk's forms are checked here (``check_form_token``), not by Flask-WTF's session token.
csrf.exempt(bp)


@bp.before_request
def load_device():
    """Find the paired device behind the credential cookie (``g.device``, or None), and check
    the form token of an unsafe request."""
    here, req = g._get_current_object(), request._get_current_object()  # one look-up each
    credential = req.cookies.get(pairing.COOKIE)
    here.device = device = pairing.device_for(credential)
    if device is not None:
        here.device_id = device.id
    if req.method in UNSAFE_METHODS:
        check_form_token(device, credential)


def check_form_token(device, credential: str | None) -> None:
    """CSRF on the kiosk. A paired kiosk's pages carry ``pairing.form_token`` of its credential
    (``form_token``), sent back as the ``X-CSRFToken`` header (htmx) or the ``csrf_token`` field:
    compared here without opening a session, so a kiosk browser has no session at all and a scan
    reads no session cookie. A browser without a device (the pairing screen) has Flask-WTF's
    session token, as the staff pages do."""
    if device is None or not credential:
        view = current_app.view_functions.get(request.endpoint)
        if not getattr(view, "needs_device", False):
            csrf.protect()
        # else: ``device_required`` sends it to the pairing screen before anything is done
        return
    sent = request.headers.get("X-CSRFToken") or request.form.get("csrf_token") or ""
    if hmac.compare_digest(sent.encode(), request_form_token(credential).encode()):
        return
    if request.cookies.get(current_app.config["SESSION_COOKIE_NAME"]):
        # A kiosk page loaded before this version holds its session's Flask-WTF token: still
        # good (the same browser's session), until the page is loaded again (``index``).
        csrf.protect()
        return
    raise CSRFError("The kiosk form token is missing or not this kiosk's.")


def request_form_token(credential: str) -> str:
    """``pairing.form_token`` of this request's credential, made once per request: a scan
    checks it and its answer carries it."""
    here = g._get_current_object()
    made = here.get("kiosk_form_token")  # g outlives a request where an app context was pushed
    if made is None or made[0] != credential:
        made = here.kiosk_form_token = (credential, pairing.form_token(credential))
    return made[1]


def form_token() -> str:
    """``csrf_token()`` on the kiosk's screens: the paired kiosk's own token, else (pairing)
    Flask-WTF's, kept in a session."""
    credential = request.cookies.get(pairing.COOKIE)
    if g.get("device") is not None and credential:
        return request_form_token(credential)
    return generate_csrf()


def device_required(view):
    """Only a paired, not revoked kiosk device; anyone else is sent to the pairing screen."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("device") is None:
            target = url_for("terminal.index")
            if htmx:
                return "", 401, {"HX-Redirect": target}
            return redirect(target, 303)
        return view(*args, **kwargs)

    wrapped.needs_device = True  # check_form_token: without a device nothing is done, so no token
    return wrapped


def _panel_or_page(template_args: dict, status: int = 200):
    """The panel for an htmx request aimed at it (drawn from its shapes: ``panel``), else the
    whole kiosk page."""
    if wants_fragment(PANEL):
        return make_response(panel.render(template_args), status)
    return fragment_or_page("terminal/kiosk.html", {PANEL: "terminal/_panel.html"}, template_args, status)


@bp.context_processor
def kiosk_helpers() -> dict:
    """``device_version(device)`` for the kiosk page (compared with each ping's), the kiosk's
    cheaper ``_`` (``i18n.kiosk_text``: one call per text, not three) and its own
    ``csrf_token`` (``form_token``)."""
    return {"device_version": pairing.config_version, "_": kiosk_text, "csrf_token": form_token,
            "kiosk_urls": kiosk_urls()}


_urls: dict[str, dict[str, str]] = {}


def kiosk_urls() -> dict[str, str]:
    """The URLs the result panel links to, built once per script root (``url_for`` is tens of
    microseconds in a request, and these never change while the app runs)."""
    found = _urls.get(request.script_root)
    if found is None:
        found = _urls[request.script_root] = {"collect": url_for("terminal.collect"), "index": url_for("terminal.index")}
    return found


def _kiosk_args(**extra) -> dict:
    args = {
        "device": g.get("device"),
        "seconds": int(settings.get("result_seconds")),
        "help_desk": settings.help_desk(str(get_locale())),
        "result": None,
        "slip": None,
    }
    args.update(extra)
    return args


def _pairing_page(code: str = "", error=None, status: int = 200):
    return fragment_or_page("terminal/pairing.html", {"pairing-message": "terminal/_pairing_message.html"},
                            {"code": code, "error": error}, status)


@bp.get("/")
def index():
    """The kiosk: the welcome screen of a paired device, else the pairing screen. Back to
    welcome (``awal``) the screen returns to Bahasa Indonesia, the whole of it: the next person
    starts in the office's language."""
    if g.device is None:
        return _pairing_page()
    pairing.seen(g.device)
    # This page's forms carry the device's token: a session token left from an older page (or
    # the pairing screen) is no longer needed, and with it goes the session cookie.
    if "csrf_token" in session:
        session.pop("csrf_token")
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.args.get("awal") and str(get_locale()) != default:
        if htmx:
            response = make_response("", 204)
            response.headers["HX-Refresh"] = "true"
        else:
            response = redirect(url_for("terminal.index"), 303)
        return set_language(response, default)
    return _panel_or_page(_kiosk_args())


@bp.post("/bahasa/<lang>")
def language(lang: str):
    """The kiosk's language button: switch, and back to the kiosk screen it was pressed on (the
    kiosk or the pairing screen; never anywhere else)."""
    home = url_for("terminal.index")
    target = safe_next(request.form.get("next"), home)
    if urlsplit(target).path not in (home, url_for("terminal.pair_form")):
        target = home
    return set_language(redirect(target, 303), lang)


@bp.get("/pasang")
def pair_form():
    """The pairing screen, with the code of a scanned pairing QR already filled in."""
    code = pairing.pairing_code_from(request.args.get("kode", "")) or ""
    return _pairing_page(code=code)


def _not_a_pairing_scan() -> bool:
    """A code the pairing screen's camera or scanner read that is no pairing code (a worker's
    card shown there): ignored, and not counted against the pairing limit."""
    return bool(request.form.get("scanned")) and pairing.pairing_code_from(request.form.get("code", "")) is None


@bp.post("/pasang")
def pair():
    """Pair this browser with a device using its one-time code; sets the credential cookie. A
    scanned code that is no pairing code changes nothing on the screen (204). Wrong codes are
    limited per address (``throttle.PAIRING_LIMIT``)."""
    if _not_a_pairing_scan():
        return "", 204
    try:
        attempt = throttle.attempt((throttle.key("pairing", request.remote_addr or "-"), throttle.PAIRING_LIMIT))
    except throttle.TooMany as too_many:
        response = _pairing_page(error=too_many.message, status=429)
        response.headers["Retry-After"] = str(too_many.seconds)
        return response
    found = pairing.pair(request.form.get("code", ""))
    if found is None:
        return _pairing_page(error=_l("Kode pemasangan salah atau sudah kedaluwarsa. Minta kode baru ke admin."), status=422)
    attempt.succeeded()
    device, credential = found
    # From now on this browser's forms carry the device's token: the pairing screen's session
    # token goes, and with it (when nothing else is in it) the session cookie.
    session.pop("csrf_token", None)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url_for("terminal.index")
    else:
        response = redirect(url_for("terminal.index"), 303)
    response.set_cookie(
        pairing.COOKIE, credential, max_age=pairing.COOKIE_MAX_AGE, httponly=True, samesite="Lax",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), path="/",
    )
    log.info("kiosk device %s paired", device.id)
    return response


@bp.post("/pindai")
@device_required
def scan():
    """Read a scanned card or a typed fallback code and show the worker's coverage (and, on a
    collect kiosk, their sembako). Refused typed codes are limited per device (``CODE_LIMIT``;
    over it, ``kiosk_error`` shows the wait); a scanned token is not counted and costs nothing
    more than its read."""
    raw = request.form.get("code", "")
    attempt = None
    # Only what could be a card's fallback code counts: a QR token is checked by its signature
    # and cannot be guessed, and another QR held up to the camera (a web address, a payment
    # code, a shop's barcode) is no guess: counted, ten of them locked the keypad for everyone.
    if tokens.could_be_fallback_code(raw):
        attempt = throttle.attempt((throttle.key("code", g.device.id), throttle.limit("CODE_LIMIT")))
    lookup = read_scan(raw, g.device)
    if lookup.ok and attempt is not None:
        attempt.succeeded()
    if not lookup.ok:
        # The reason and the card id only: never the token or code (they would open the card).
        log.warning(
            "kiosk refusal device=%s reason=%s card=%s", g.device.id, lookup.refusal.value,
            lookup.card.id if lookup.card is not None else "-",
        )
    result = build_result(lookup, g.device, photo_url=_photo_url, ticket=_claim_ticket, typed=looks_typed(raw))
    return _panel_or_page(_kiosk_args(result=result))


def _photo_url(worker) -> str | None:
    if not worker.photo:
        return None
    ticket = tickets.make(current_app.secret_key, "photo", worker.id, g.device.id)
    return url_for("terminal.photo", ticket=ticket)


def _claim_ticket(worker, card, distribution) -> str:
    """What AMBIL needs (``collect``): worker, card, device, distribution, and the request id
    that makes a double tap the same claim."""
    return tickets.make(current_app.secret_key, "claim", worker.id, card.id, g.device.id, distribution.id,
                        secrets.token_hex(16))


@bp.get("/foto/<ticket>")
@device_required
def photo(ticket: str):
    """The photo of the worker whose card this device just scanned (a short-lived URL that only
    works for this device)."""
    from ..models import Worker

    fields = tickets.read(current_app.secret_key, "photo", ticket, 2, max_age=PHOTO_SECONDS)
    if fields is None or fields[1] != str(g.device.id):
        abort(404)
    worker = db.session.get(Worker, int(fields[0]))
    return photo_response(worker.photo if worker is not None else None)


@bp.post("/ambil")
@device_required
def collect():
    """AMBIL: claim the sembako package offered on the result screen. The ticket carries the
    request id made when the screen was shown, so a double tap gets the first answer again."""
    fields = tickets.read(current_app.secret_key, "claim", request.form.get("ticket", ""), 5, max_age=TICKET_SECONDS)
    if (fields is None or g.device.mode != "collect" or fields[2] != str(g.device.id)
            or fields[3] != str(g.device.distribution_id) or not (fields[0].isdigit() and fields[1].isdigit())):
        return _panel_or_page(_kiosk_args(), status=200)
    worker_id, card_id, request_id = int(fields[0]), int(fields[1]), fields[4]
    with one_connection():  # the claim's one read and its write: one checkout
        result = build_claim_result(worker_id, card_id, g.device, request_id=request_id, photo_url=_photo_url)
    return _panel_or_page(_kiosk_args(result=result, slip=_slip(result)))


def _slip(result) -> dict | None:
    """What a kiosk set to print (``device.slip_paper``) prints for a package just claimed: the
    number, the name, the masked NIK, the distribution, the date and time, the kiosk. The page
    script prints it once through Chromium's silent printing (``--kiosk-printing``); the print
    stylesheet (css/slip.css and css/slip-58.css / slip-80.css) shows the slip alone."""
    if not g.device.slip_paper or result is None or result.state != "collected":
        return None
    from ..models import Distribution

    sembako = result.sembako
    name = db.session.execute(
        db.select(Distribution.name).where(Distribution.id == g.device.distribution_id)).scalar()
    return {
        "paper": g.device.slip_paper, "seq": sembako.seq, "total": sembako.total,
        "name": result.worker.name, "masked_nik": result.masked_nik, "distribution": name or "",
        "at": sembako.collected_at, "station": sembako.station or g.device.name,
        "key": f"{g.device.distribution_id}-{sembako.seq}",
    }


@bp.get("/ping")
def ping():
    """Tiny liveness check for the kiosk's reconnect banner: 204 while paired, 401 once the
    device is revoked (the screen then goes back to pairing). The kiosk sends its clock (``t``,
    milliseconds since 1970) for the device list; ``X-Kiosk-Clock: wrong`` tells it to show that
    the server's clock is not believed (claims are refused meanwhile, see kiosk.clock);
    ``X-Kiosk-Device`` the device's ``config_version`` (renamed, new task: the kiosk reloads)."""
    if g.device is None:
        return "", 401
    pairing.seen(g.device, clock.offset_of(request.args.get("t")))
    # X-Kiosk-Device: what the screen should be built from; an admin's change reloads it.
    return "", 204, {"X-Kiosk-Clock": "ok" if clock.trusted() else "wrong",
                     "X-Kiosk-Device": pairing.config_version(g.device)}


@bp.post("/keluar")
@device_required
def leave():
    """Staff exit: with the exit PIN, forget this browser's pairing and show the pairing screen.
    Wrong PINs are limited per device (``throttle.EXIT_PIN_LIMIT``)."""
    try:
        attempt = throttle.attempt((throttle.key("exit-pin", g.device.id), throttle.EXIT_PIN_LIMIT))
    except throttle.TooMany as too_many:
        return render_template("terminal/_exit.html", error=too_many.message), 429, {"Retry-After": str(too_many.seconds)}
    if not pairing.check_exit_pin(request.form.get("pin", "")):
        log.warning("kiosk exit refused device=%s", g.device.id)
        return render_template("terminal/_exit.html", error=_l("PIN salah.")), 422
    attempt.succeeded()
    device = g.device
    pairing.unpair(device)
    log.info("kiosk device %s unpaired at the kiosk", device.id)
    response = redirect(url_for("terminal.index"), 303)
    if htmx:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url_for("terminal.index")
    response.delete_cookie(pairing.COOKIE, path="/")
    return response


@bp.get("/sertifikat")
def certificate():
    """The office's own certificate authority (public), to install on the kiosk tablets so they
    trust this server's HTTPS (see docs/kiosk-setup.md)."""
    from ..tls import ca_certificate_path

    path = ca_certificate_path(current_app.config["SECRETS_DIR"])
    if path is None:
        abort(404)
    response = make_response(path.read_bytes())
    response.mimetype = "application/x-x509-ca-cert"
    response.headers["Content-Disposition"] = "attachment; filename=kiosk-bpu-ca.crt"
    return response


@bp.errorhandler(CSRFError)
@bp.errorhandler(throttle.TooMany)
@bp.errorhandler(UnstorableText)
@bp.errorhandler(HTTPException)
def kiosk_error(error: HTTPException):
    """Errors on the kiosk stay on kiosk screens: no staff menu, no way out. Flask looks for a
    handler by status code first, the app's before the kiosk's, so each error the app handles by
    its code (CSRF, limits, unstorable text) is named here too (a test checks every one)."""
    if error.code and error.code < 400:
        return error
    if error.code == 429 and request.endpoint == "terminal.scan" and g.get("device") is not None:
        wait = error.seconds if isinstance(error, throttle.TooMany) else None
        result = build_result(None, g.device, photo_url=_photo_url, ticket=_claim_ticket, too_many=True, wait=wait)
        response = _panel_or_page(_kiosk_args(result=result))
        response.status_code = 429
        if wait:
            response.headers["Retry-After"] = str(wait)
        return response
    from ..errors import MESSAGES, UNSTORABLE_TEXT

    message = MESSAGES.get(error.code) or MESSAGES[500]
    if isinstance(error, UnstorableText):
        message = UNSTORABLE_TEXT
    elif error.code == 400:
        message = _l("Layar perlu dimuat ulang. Tunggu sebentar…")
    return _error_screen(error.code or 500, message)


@bp.errorhandler(Exception)
def kiosk_crash(error: Exception):
    """An unexpected failure: logged, nothing half-written, and a kiosk screen that says so."""
    db.session.rollback()
    current_app.logger.exception("unhandled error on the kiosk")
    from ..errors import MESSAGES

    return _error_screen(500, MESSAGES[500])


def _error_screen(code: int, message):
    template = "terminal/_error.html" if wants_fragment(PANEL) else "terminal/error.html"
    return render_template(template, **_kiosk_args(code=code, message=message)), code

