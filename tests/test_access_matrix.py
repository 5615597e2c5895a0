"""The access matrix: every route of the app (read from ``app.url_map``, so a new route cannot be
forgotten) × every method × every kind of visitor, each against the answer written in ``ROUTES``.

Every answer but a static file is ``Cache-Control: no-store`` (downloads included).

Visitors: anonymous, a paired kiosk device (its credential cookie), a revoked device, a petugas,
an admin, and a staff member whose account was deactivated after signing in. Kiosk devices never
reach staff pages; petugas cannot manage staff, devices, void collections, open/close
distributions, read the audit trail or export the coverage report (full NIKs).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from factories import make_card, make_coverage, make_distribution, make_staff, make_worker
from kiosk import distribution as dist
from kiosk.staff import set_active
from kiosk.coverage import today_jakarta
from kiosk.terminal import pairing

# What each endpoint is, which decides the expected answer per visitor:
#   staff   - any signed-in staff member; everyone else is sent to sign in
#   admin   - admins only; petugas get 403; everyone else is sent to sign in
#   device  - a paired, live kiosk device only; everyone else is sent to the pairing screen
#   kiosk   - the kiosk entry: a device gets its kiosk, everyone else the pairing screen
#   ping    - 204 for a live device, 401 for everyone else
#   public  - anyone (sign-in, setup, sign-out, language, pairing, static files, certificate)
ROUTES = {
    "static": "public",
    "auth.login": "public",
    "auth.logout": "public",
    "auth.first_run": "public",
    "i18n.switch": "public",
    "terminal.language": "public",
    "terminal.pair_form": "public",
    "terminal.pair": "public",
    "terminal.certificate": "public",
    "terminal.index": "kiosk",
    "terminal.ping": "ping",
    "terminal.scan": "device",
    "terminal.photo": "device",
    "terminal.collect": "device",
    "terminal.leave": "device",
    "dashboard.home": "staff",
    "dashboard.reports": "staff",
    "dashboard.bast": "staff",
    "dashboard.distribution_list": "staff",
    "dashboard.coverage_export": "admin",
    "dashboard.audit": "admin",
    "dashboard.audit_export": "admin",
    "workers.index": "staff",
    "workers.desa_options": "staff",
    "workers.new": "staff",
    "workers.edit": "staff",
    "workers.check_field": "staff",
    "workers.show": "staff",
    "workers.photo": "staff",
    "workers.pending_photo": "staff",
    "workers.replace_photo": "staff",
    "workers.add_coverage": "staff",
    "workers.renew": "staff",
    "workers.delete": "staff",
    "workers.renew_many": "staff",
    "workers.import_form": "staff",
    "workers.import_template": "staff",
    "workers.import_upload": "staff",
    "workers.import_preview": "staff",
    "workers.import_confirm": "staff",
    "workers.import_cancel": "staff",
    "workers.import_row_different": "staff",
    "workers.import_columns": "staff",
    "workers.import_refused": "staff",
    "workers.export": "staff",
    "workers.probable_list": "staff",
    "workers.probable_different": "staff",
    "issuing.index": "staff",
    "issuing.worker": "staff",
    "issuing.issue": "staff",
    "issuing.reissue": "staff",
    "issuing.revoke": "staff",
    "issuing.card_png": "staff",
    "issuing.card_pdf": "staff",
    "issuing.sheet": "staff",
    "issuing.issue_enrolled": "staff",
    "distributions.index": "staff",
    "distributions.new": "staff",
    "distributions.edit": "staff",
    "distributions.detail": "staff",
    "distributions.open_": "admin",
    "distributions.close": "admin",
    "distributions.not_collected": "staff",
    "distributions.recipients": "staff",
    "distributions.recipients_add": "staff",
    "distributions.recipients_remove": "staff",
    "distributions.void": "admin",
    "distributions.handover_photo": "staff",
    "distributions.desk": "staff",
    "distributions.desk_worker": "staff",
    "distributions.desk_scan": "staff",
    "distributions.desk_handover": "staff",
    "distributions.desk_queue": "staff",
    "distributions.desk_package": "staff",
    "distributions.desk_hand_over": "staff",
    "admin.index": "admin",
    "admin.staff_list": "admin",
    "admin.staff_new": "admin",
    "admin.staff_edit": "admin",
    "admin.staff_role": "admin",
    "admin.staff_password": "admin",
    "admin.staff_status": "admin",
    "admin.devices": "admin",
    "admin.device_new": "admin",
    "admin.device_code": "admin",
    "admin.device_revoke": "admin",
    "admin.device_edit": "admin",
    "admin.settings": "admin",
    "admin.settings_save": "admin",
    "admin.backups_page": "admin",
    "admin.backup_now": "admin",
    "admin.backup_download": "admin",
    "admin.clock_page": "admin",
    "admin.clock_confirm": "admin",
}

ROLES = ("anonymous", "device", "revoked_device", "deactivated", "petugas", "admin")

# Plausible values for the string arguments of the rules, by argument name.
STRING_VALUES = {
    "filename": "css/app.css",
    "lang": "id",
    "fmt": "csv",
    "kind": "penerima",
    "ticket": "bukan-tiket",
    "name": "0123456789abcdef.jpg",
    "field": "nik",
    "token": "0123456789abcdef0123456789abcdef",
    "upload": "0123456789abcdef0123456789abcdef",
}


def expected(kind: str, role: str) -> str:
    """The expected answer (``ok``, ``login``, ``forbidden``, ``pairing``, ``ping_ok``,
    ``ping_refused``, ``kiosk_screen``) of a route kind for a visitor."""
    staff = role in ("petugas", "admin")
    device = role == "device"
    if kind == "public":
        return "ok"
    if kind == "staff":
        return "ok" if staff else "login"
    if kind == "admin":
        return "ok" if role == "admin" else ("forbidden" if role == "petugas" else "login")
    if kind == "device":
        return "ok" if device else "pairing"
    if kind == "kiosk":
        return "kiosk_screen" if device else "pairing_screen"
    if kind == "ping":
        return "ping_ok" if device else "ping_refused"
    raise AssertionError(f"unknown kind {kind}")


def observed(response, htmx: bool) -> str:
    """Classify an answer into the vocabulary of ``expected``."""
    status = response.status_code
    location = response.headers.get("Location", "")
    hx_redirect = response.headers.get("HX-Redirect", "")
    body = response.get_data().decode("utf-8", "replace")
    if status >= 500:
        return f"server error {status}"
    if status == 401 and hx_redirect.startswith("/masuk"):
        return "login"
    if status in (301, 302, 303) and location.startswith("/masuk"):
        return "login"
    if status == 403:
        return "forbidden"
    if response.request.path.startswith("/kiosk/bahasa/") and status == 303:
        return "ok"  # the kiosk's language button: back to the kiosk screen, whoever pressed it
    if (status == 303 and location == "/kiosk/") or (status == 401 and hx_redirect == "/kiosk/"):
        return "pairing"
    if response.request.path == "/kiosk/ping":
        return {204: "ping_ok", 401: "ping_refused"}.get(status, f"ping {status}")
    if response.request.path == "/kiosk/" and status == 200:
        if 'name="code"' in body and "/kiosk/pasang" in body:
            return "pairing_screen"
        if "/kiosk/pindai" in body:
            return "kiosk_screen"
        return "kiosk page without scan or pairing form"
    if status == 401:
        return "unauthorized without redirect"
    return "ok"


@pytest.fixture
def world(app):
    """Real rows for every id in the URL map, and one client per visitor."""
    admin = make_staff(role="admin", username="admin-matrix")
    victim = make_staff(role="petugas", username="korban")
    distribution = make_distribution(packages=50)
    worker = make_worker(name="Siti Aminah", sex="P")
    today = today_jakarta()
    make_coverage(worker, start=today - timedelta(days=5), end=today + timedelta(days=60))
    card, _token = make_card(worker, staff=admin)
    claimed = make_worker(name="Budi Santoso")
    make_coverage(claimed, start=today - timedelta(days=5), end=today + timedelta(days=60))
    result = dist.claim(distribution.id, claimed.id, request_id="matrix-claim", staff=admin, station="Meja uji")
    assert result.collected, result
    victim_device, _code = pairing.add_device("Kios korban", "check", None, staff=admin)
    ids = {
        "staff_id": victim.id,
        "device_id": victim_device.id,
        "card_id": card.id,
        "worker_id": worker.id,
        "distribution_id": distribution.id,
        "collection_id": result.collection_id,
        "line": 2,
        "first_id": worker.id,
        "second_id": claimed.id,
        "seq": result.seq,
    }

    clients = {role: app.test_client() for role in ROLES}
    for role in ("device", "revoked_device"):
        device, code = pairing.add_device(f"Kios {role}", "check", None, staff=admin)
        response = clients[role].post("/kiosk/pasang", data={"code": code})
        assert response.status_code == 303
        if role == "revoked_device":
            pairing.revoke(device, staff=admin)
    for role, username in (("petugas", "petugas-matrix"), ("admin", "admin-matrix"), ("deactivated", "nonaktif")):
        if role != "admin":
            make_staff(role="petugas", username=username)
        response = clients[role].post("/masuk", data={"username": username, "password": "rahasia-123"})
        assert response.status_code == 302, role
    from kiosk.models import Staff
    from kiosk.extensions import db
    from sqlalchemy import select

    gone = db.session.scalar(select(Staff).where(Staff.username == "nonaktif"))
    set_active(gone, False, by=admin)
    return ids, clients


def build_url(app, rule, ids: dict) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            values[name] = ids[name]
        elif isinstance(converter, AnyConverter):
            values[name] = sorted(converter.items)[0]
        else:
            values[name] = STRING_VALUES[name]
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values)


def test_every_route_has_an_expectation(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - ROUTES.keys())
    assert not missing, f"routes without an access expectation: {missing}"
    stale = sorted(ROUTES.keys() - endpoints)
    assert not stale, f"expectations for routes that no longer exist: {stale}"
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            assert isinstance(converter, (IntegerConverter, AnyConverter)) or name in STRING_VALUES, (rule.rule, name)


def test_access_matrix(app, world, capsys):
    ids, clients = world
    failures = []
    checked = 0
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    # GETs first, then the POSTs; the admin goes last (its POSTs change rows).
    plan = []
    for method in ("GET", "POST"):
        for role in ROLES:
            for rule in rules:
                if method in rule.methods:
                    plan.append((method, role, rule))
    # Signing out ends the visitor's session: last.
    plan.sort(key=lambda step: step[2].endpoint == "auth.logout")
    for method, role, rule in plan:
        url = build_url(app, rule, ids)
        want = expected(ROUTES[rule.endpoint], role)
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            client = clients[role]
            response = client.open(url, method=method, headers=headers)
            got = observed(response, htmx)
            response.close()  # static files are streamed from an open file
            if rule.endpoint != "static" and "no-store" not in response.headers.get("Cache-Control", ""):
                failures.append(f"{role:15} {method:4} {url:55} Cache-Control {response.headers.get('Cache-Control')!r}: "
                                "personal data would stay in a shared tablet's cache")
            if ROUTES[rule.endpoint] == "public" and got == "login":
                got = "ok"  # sign-in and setup pages send people to sign in: that is their job
            checked += 1
            if got != want:
                failures.append(f"{role:15} {method:4} {url:55} htmx={htmx!s:5} want {want}, got {got} ({response.status_code})")
    with capsys.disabled():
        print(f"\naccess matrix: {len({(r.rule, m) for m, _, r in plan})} route×method pairs × {len(ROLES)} roles × "
              f"2 (plain, htmx) = {checked} requests checked")
    assert not failures, "\n".join(failures)


def test_kiosk_devices_never_reach_staff_pages_even_with_a_staff_session_elsewhere(app, world):
    """A paired kiosk browser is not a staff member: every staff/admin GET sends it to sign in."""
    ids, clients = world
    for rule in app.url_map.iter_rules():
        if ROUTES[rule.endpoint] in ("staff", "admin") and "GET" in rule.methods:
            response = clients["device"].get(build_url(app, rule, ids))
            response.close()
            assert response.status_code == 302 and response.headers["Location"].startswith("/masuk"), rule.rule
