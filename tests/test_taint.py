"""The taint test: text a person typed never acts, wherever it goes.

1. **Write.** Every form the app's pages show (found by rendering every GET route of the URL map,
   not by a list kept here) is submitted once per field — text, hidden, select, radio, checkbox:
   whatever a browser, or an attacker with one, can send — with a marked payload in that field and
   the page's own values elsewhere. The payload is an htmx element that would act on load, an
   attribute break-out with an ``onerror``, ``{{7*7}}``, ``%(name)s`` and a leading ``=``
   (a spreadsheet formula). Every htmx request a form makes (the live checks) gets the same.
   Every column of the import template gets it in an uploaded file (CSV and XLSX).
2. **Coverage.** Every text column of every table must then hold a marker — or be named in
   ``NOT_TYPED`` with the reason no person can write it. A new column a form writes without this
   test reaching it fails here.
3. **Render.** As an admin, a petugas (one whose name is a payload: the desk's station) and a paired
   kiosk (named with a payload): every GET route of the URL map for every row, every link the pages
   show, every htmx request they make (with its ``HX-Target``), the live NIK check and card scans at
   the desk and the kiosk. Every GET endpoint must answer at least once with content (or be named
   in ``NOT_RENDERED`` with the reason).
4. **Check.** Every answer of every phase is parsed: in HTML a marker may only be text (never a tag,
   an attribute name, an htmx/event/style attribute, a URL outside a query string, script content),
   and is followed by ``{{7*7}}%(name)s`` as typed (not evaluated). PDFs show the payload's markup
   as text; CSV and XLSX cells never start a formula. Each stored column's markers must show up in
   some answer (so the render phase really showed that data).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import JSON, String, Text, select

from factories import covered_worker, make_card, make_distribution, make_staff, nik_for
from kiosk.extensions import db
from pages import local_path, parse, taint_problems
from conftest import OUTPUT

MARK = re.compile(r"zq[0-9a-z]{3}q", re.IGNORECASE)
EVAL = "{{7*7}}%(name)s"
# The markup carries the marker too: an element it makes shows up as a tag with a marked attribute.
TAIL = "'\"><b hx-get=/{m} hx-trigger=load>"
IMG = "<img src=x onerror=_{m}>"
PASSWORD = "Tulip-Merapi-2026"

# Text columns no person writes (the server makes them, or a check lets only a closed set of
# characters through). Every other text column must receive a marker from some form.
NOT_TYPED = {
    "photo.name": "a random name the server gives a stored photo",
    "scheduled_task.name": "the server's own task names",
    "scheduled_task.last_error": "the server's own error text",
    "scheduled_task.lease_owner": "the server's own host, process id and nonce (backup.schedule.owner)",
    "scheduled_task.pending_kind": "the server's own backup kinds (backup.schedule.OWED_KINDS)",
    "scheduled_task.last_ok_host": "the server's own host name",
    "scheduled_task.last_ok_path": "the server's own backup folder and file name",
    "setting.name": "the settings' own names",
    "staff.username": "letters, digits, '.', '_' and '-' only (auth.forms.USERNAME)",
    "staff.password_hash": "a hash",
    "staff.role": "admin or petugas (a CHECK constraint)",
    "distribution.eligibility": "coverage or list (a CHECK constraint)",
    "distribution.status": "draft, open or closed (a CHECK constraint)",
    "distribution.official_nip": "digits and spaces only (DistributionForm)",
    "worker.nik": "16 digits, checked",
    "worker.sex": "L or P (a CHECK constraint)",
    "worker.kecamatan_code": "a code from the reference list",
    "worker.desa_code": "a code from the reference list",
    "worker.desa_name": "the official name from the reference list (enrollment.places._check_place)",
    "worker.name_key": "the name folded to its letters to find duplicates (kiosk.duplicates), never shown",
    "worker.phone": "digits, checked (kiosk.phone)",
    "worker.kpj": "digits, checked",
    "worker.photo": "a random name the server gives a stored photo",
    "card.fallback_code": "made by the server",
    "card.key_id": "the server's key ids",
    "card_key.id": "the server's key ids (kiosk.tokens.KeyRing.rotate)",
    "card_key.fingerprint": "a hash of a key",
    "installation_secret.name": "the server's own secret names (kiosk.installation)",
    "installation_secret.digest": "a hash",
    "device.mode": "check or collect (a CHECK constraint)",
    "device.slip_paper": "a choice of paper widths",
    "device.pairing_code_hash": "a hash",
    "device.credential_hash": "a hash",
    "audit_event.action": "the server's own action names",
    "audit_event.entity_type": "the server's own table names",
    "collection.handover_request_id": "letters, digits, '_' and '-' only (HandoverForm)",
    "collection.handover_photo": "a random name the server gives a stored photo",
    "claim_request.request_id": "letters, digits, '_' and '-' only",
    "claim_request.outcome": "the server's own outcome names",
    "column_mapping.signature": "a hash of a header row (kiosk.imports.mappings)",
    "column_mapping.columns": "field keys from a closed list (kiosk.imports.mappings.FIELDS)",
    "import_upload.token": "made by the server",
    "import_upload.columns": "field keys from a closed list (kiosk.imports.mappings.FIELDS)",
    "throttle.bucket": "a kind and a hash (kiosk.throttle.key)",
    "import_preview.token": "made by the server",
    "import_preview.payload": "an import's checked rows, deleted when it is confirmed; _import renders its pages first",
}
# GET endpoints that answer without a person's text in them.
NOT_RENDERED = {
    "static": "files from the repository",
    "terminal.ping": "204, no body",
    "terminal.certificate": "the office's CA certificate (none is made in tests)",
    "terminal.photo": "a JPEG the server re-encoded",
    "workers.photo": "a JPEG the server re-encoded",
    "workers.pending_photo": "a JPEG the server re-encoded",
    "distributions.handover_photo": "a JPEG the server re-encoded",
    "auth.first_run": "closed once an admin exists (sends people to sign in)",
    "admin.backup_download": "a backup archive (the database itself), never a page",
}
# Forms the test leaves alone: signing out ends the visitor's session, the language switch and the
# kiosk's staff exit carry no text that is stored or shown.
SKIPPED_ACTIONS = ("/keluar", "/kiosk/keluar", "/bahasa/")
# Values for fields a form leaves empty but requires (everything else keeps the page's value).
BIRTH = date(1985, 7, 14)


def _valid(name: str, taint: "Taint", data: dict) -> str | None:
    n = taint.marks.n
    values = {
        "nik": lambda: nik_for(BIRTH, "L", serial=(7000 + n) % 10000),
        "name": lambda: f"Budi Santoso {n}",
        "birth_date": lambda: BIRTH.isoformat(),
        "birth_place": lambda: "Muara Enim",
        "income": lambda: "Rp1.500.000",
        "desa": lambda: _first_desa(data),
        "start": lambda: date.today().isoformat(),
        "day": lambda: date.today().isoformat(),
        "packages_total": lambda: "10",
        "username": lambda: f"pengguna{n}",
        "full_name": lambda: f"Petugas {n}",
        "password": lambda: PASSWORD,
        "confirm": lambda: PASSWORD,
        "admin_password": lambda: PASSWORD,  # the signed-in admin's own (kiosk.auth.reauth)
        "reason": lambda: "Salah cetak",
        "detail": lambda: "Rusak",
        "niks": lambda: "\n".join(taint.niks[:3]),
        "q": lambda: "Budi",
        "sebelum": lambda: (date.today() + timedelta(days=400)).isoformat(),
        "tanggal": lambda: date.today().isoformat(),
    }
    make = values.get(name)
    return make() if make else None


def _first_desa(data: dict) -> str:
    from kiosk.wilayah import desa_list

    kecamatan = (data.get("kecamatan") or [""])[0] or "160302"
    found = desa_list(kecamatan)
    return found[0].code if found else ""


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


class _Issued:
    """MARK, counting only the markers this test handed out: a random token may look like one
    (a CSRF token's "...TjZQv7EQbd..." holds "ZQv7EQ")."""

    def __init__(self, issued: dict[str, str]):
        self.issued = issued

    def finditer(self, text: str):
        return (m for m in MARK.finditer(text) if m.group(0).lower() in self.issued)

    def search(self, text: str):
        return next(self.finditer(text), None)


class Taint:
    """Markers, the answers seen, and the problems found."""

    def __init__(self, app, clients: dict):
        self.app = app
        self.clients = clients
        self.marks_where: dict[str, str] = {}
        self.mark = _Issued(self.marks_where)
        self.marks = type("Counter", (), {"n": 0})()
        self.problems: list[str] = []
        self.shown: set[str] = set()  # markers seen in any answer
        self.rendered: dict[str, int] = defaultdict(int)  # endpoint -> answers with content
        self.requests = 0
        self.niks: list[str] = []
        self.log: list[str] = []  # each tainted submission and its answer, for a failure's message

    # ---- markers --------------------------------------------------------------------------

    def payload(self, where: str, short: bool = False) -> str:
        """``=<marker>{{7*7}}%(name)s'"><b hx-get=/<marker> hx-trigger=load><img src=x onerror=_<marker>>``
        (86 characters; ``short``, 59, without the image, for fields of 60 to 85)."""
        self.marks.n += 1
        n, digits = self.marks.n, ""
        for _ in range(3):
            n, digit = divmod(n, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        marker = f"zq{digits}q"
        self.marks_where[marker] = where
        return "=" + marker + EVAL + TAIL.format(m=marker) + ("" if short else IMG.format(m=marker))

    # ---- requests and checks ---------------------------------------------------------------

    def request(self, role: str, method: str, url: str, *, data=None, headers=None, multipart=False,
                where: str = ""):
        client = self.clients[role]
        response = client.open(url, method=method, data=data, headers=headers or {},
                               content_type="multipart/form-data" if multipart else None)
        self.requests += 1
        body = response.get_data()
        response.close()
        if response.status_code >= 500:
            self.problems.append(f"{role} {method} {url} ({where}) answered {response.status_code}")
        self.check(response, body, f"{role} {method} {url}" + (f" ({where})" if where else ""))
        if method == "GET" and response.status_code < 300 and body:
            endpoint = self._endpoint(url, method)
            if endpoint:
                self.rendered[endpoint] += 1
        return response, body

    def _endpoint(self, url: str, method: str = "GET") -> str | None:
        path = urlsplit(url).path
        try:
            endpoint, _args = self.app.url_map.bind("localhost").match(path, method=method)
        except Exception:  # noqa: BLE001  (a redirect or 404 of the router)
            return None
        return endpoint

    def check(self, response, body: bytes, where: str) -> None:
        mimetype = response.mimetype or ""
        if not self.mark.search(body.decode("utf-8", "replace")) and mimetype not in (
                "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
            return
        if mimetype == "text/html":
            text = body.decode("utf-8", "replace")
            self.problems.extend(f"{where}: {p}" for p in taint_problems(text, self.mark, EVAL))
            self._seen(text)
        elif mimetype == "application/pdf":
            self._check_pdf(body, where)
        elif mimetype == "text/csv":
            self._check_cells(list(csv.reader(io.StringIO(body.decode("utf-8-sig")))), where, None)
        elif mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
            self._check_xlsx(body, where)
        elif mimetype in ("image/png", "image/jpeg"):
            pass  # pixels
        else:
            self.problems.append(f"{where}: a marker in a {mimetype!r} answer this test cannot read")

    def _seen(self, text: str) -> None:
        self.shown.update(m.group(0).lower() for m in self.mark.finditer(text))

    def _check_pdf(self, body: bytes, where: str) -> None:
        import pypdfium2

        document = pypdfium2.PdfDocument(body)
        try:
            text = "".join(page.get_textpage().get_text_range() for page in document)
        finally:
            document.close()
        # Letterheads print the office's name in capitals: compared without case.
        squeezed = _squeeze(text).casefold()
        wanted = _squeeze(EVAL + TAIL[:5]).casefold()  # the typed markup shows as characters: "<b" survives
        for match in self.mark.finditer(squeezed):
            if not match.start() or squeezed[match.start() - 1] != "=":
                continue  # a marker inside the payload's markup, shown as characters
            following = squeezed[match.end(): match.end() + len(wanted)]
            shortened = following.split("\u2026")[0]  # a table cell cut to its width ends in "…"
            if following != wanted and not ("\u2026" in following and wanted.startswith(shortened)):
                self.problems.append(f"{where}: PDF shows {match.group(0)} followed by {following!r}, "
                                     f"not the typed {wanted!r} (markup read as markup?)")
        self._seen(squeezed)

    def _check_xlsx(self, body: bytes, where: str) -> None:
        from openpyxl import load_workbook

        workbook = load_workbook(io.BytesIO(body))
        rows = []
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        self.problems.append(f"{where}: cell {cell.coordinate} is a formula: {cell.value!r}")
                rows.append(["" if c.value is None else str(c.value) for c in row])
        self._check_cells(rows, where, None)

    def _check_cells(self, rows: list[list[str]], where: str, _unused) -> None:
        from kiosk.spreadsheets import FORMULA_START

        for row in rows:
            for cell in row:
                if not self.mark.search(cell):
                    continue
                if cell.startswith(FORMULA_START):
                    self.problems.append(f"{where}: a cell starts a formula: {cell[:60]!r}")
                for match in self.mark.finditer(cell):
                    if not match.start() or cell[match.start() - 1] != "=":
                        continue
                    following = cell[match.end(): match.end() + len(EVAL)]
                    if not EVAL.startswith(following) or (len(following) < len(EVAL) and
                                                          match.end() + len(following) != len(cell)):
                        self.problems.append(f"{where}: cell shows {match.group(0)} followed by {following!r}")
                self._seen(cell)


# ---- the world --------------------------------------------------------------------------------


@pytest.fixture
def app(engine_app):
    """Both engines: what is stored and read back is the database's part of the round trip."""
    return engine_app


@pytest.fixture
def world(app):
    """An open distribution, covered workers with cards (one already collected), an admin, a
    petugas, and clients signed in as each."""
    from kiosk import distribution as dist

    admin = make_staff(role="admin", username="admin-taint", password=PASSWORD)
    make_staff(role="petugas", username="petugas-taint", password=PASSWORD)
    distribution = make_distribution(packages=200)
    workers = [covered_worker(name=f"Pekerja Taint {n}") for n in range(10)]
    for _twin in range(2):  # a probable duplicate: same name, same birth date
        covered_worker(name="Siti Kembar", birth_date=date(1990, 2, 3), sex="P")
    for worker in workers:
        make_card(worker, staff=admin)
    result = dist.claim(distribution.id, workers[0].id, request_id="taint-claim-0", staff=admin, station="Meja uji")
    assert result.collected
    clients = {}
    for role, username in (("admin", "admin-taint"), ("petugas", "petugas-taint")):
        clients[role] = app.test_client()
        response = clients[role].post("/masuk", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[-400:]
    return {"admin_id": admin.id, "distribution_id": distribution.id, "worker_ids": [w.id for w in workers],
            "niks": [w.nik for w in workers], "clients": clients}


def _ids(app) -> dict[str, list[int]]:
    """Every row's id, by the name routes give it (``worker_id`` ...)."""
    from kiosk.models import Card, Collection, Device, Distribution, Staff, Worker

    db.session.remove()
    from kiosk.models import ImportUpload

    tables = {"worker_id": Worker, "card_id": Card, "distribution_id": Distribution, "staff_id": Staff,
              "device_id": Device, "collection_id": Collection, "first_id": Worker, "second_id": Worker}
    ids = {name: list(db.session.scalars(select(model.id).order_by(model.id))) for name, model in tables.items()}
    ids["upload"] = list(db.session.scalars(select(ImportUpload.token)))  # the uploaded lists (string ids)
    return ids


STRINGS = {"fmt": ["csv", "xlsx", "pdf"], "kind": ["penerima", "belum-menerima"], "lang": ["id"],
           "field": ["nik", "name"], "filename": ["css/app.css"], "ticket": ["bukan-tiket"],
           "name": ["0" * 32 + ".jpg"], "token": ["0123456789abcdef0123456789abcdef"]}


def _urls(app, rule, ids: dict[str, list[int]], limit: int = 60) -> list[str]:
    """The URLs of ``rule`` for every row (every pair of rows for two ids, the first few)."""
    from itertools import product

    from werkzeug.routing import IntegerConverter

    choices = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            choices.append([(name, i) for i in ids.get(name, [])] or [(name, 1)])
        else:
            options = (sorted(converter.items) if hasattr(converter, "items")
                       else ids.get(name) or STRINGS.get(name, ["x"]))
            choices.append([(name, v) for v in options])
    adapter = app.url_map.bind("localhost")
    urls = []
    for combo in product(*choices):
        if len(urls) >= limit:
            break
        urls.append(adapter.build(rule.endpoint, dict(combo)))
    return urls


# ---- 1. write ---------------------------------------------------------------------------------


def _form_key(taint: Taint, form) -> tuple:
    return (taint._endpoint(form.action, "POST") or form.action, tuple(sorted({f.name for f in form.fields})))


def _harvest(taint: Taint, role: str, urls: list[str]) -> dict[tuple, list[tuple[str, object]]]:
    """Every form (by action endpoint and field names) with the pages that show it."""
    forms: dict[tuple, list[tuple[str, object]]] = defaultdict(list)
    for url in urls:
        response, body = taint.request(role, "GET", url)
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        for form in parse(body.decode(), "http://localhost" + url).forms:
            action = local_path(form.action)
            if not action or action.startswith(SKIPPED_ACTIONS) or action in SKIPPED_ACTIONS:
                continue
            forms[_form_key(taint, form)].append((url, form))
    return forms


def _fresh(taint: Taint, role: str, key: tuple, sources: list, used: set) -> tuple[str, object] | None:
    """The form as a page shows it now (values change as rows change), from a page whose form no
    accepted submission has used yet if there is one (a handover uses up its worker); None when
    no page shows it any more."""
    for url, _old in sorted(sources, key=lambda source: source[0] in used):
        response, body = taint.request(role, "GET", url)
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        for form in parse(body.decode(), "http://localhost" + url).forms:
            if _form_key(taint, form) == key:
                return url, form
    return None


def _submission(taint: Taint, form, field: str | None, value: str | None) -> dict[str, list[str]]:
    data = form.values()
    for f in form.fields:
        if f.kind in ("radio",) and f.name not in data:
            data[f.name] = [form.choices(f.name)[0]]
        if f.kind == "select" and not (data.get(f.name) or [""])[0]:
            non_empty = [o for o in f.options if o]
            if non_empty:
                data[f.name] = [non_empty[0]]
    for f in form.fields:
        if not (data.get(f.name) or [""])[0] and f.kind not in ("file", "submit", "button", "checkbox"):
            valid = _valid(f.name, taint, data)
            if valid is not None:
                data[f.name] = [valid]
    if field is not None:
        data[field] = [value]
    return data


def _post(taint: Taint, role: str, form, data: dict, where: str, headers=None, url=None):
    multipart = form.enctype == "multipart/form-data"
    flat = {k: (v if len(v) > 1 else v[0]) for k, v in data.items()}
    return taint.request(role, form.method.upper(), url or local_path(form.action),
                         data=flat if form.method == "post" else None, headers=headers, multipart=multipart,
                         where=where) if form.method == "post" else \
        taint.request(role, "GET", (url or local_path(form.action)).split("?")[0] + "?" +
                      "&".join(f"{k}={_q(x)}" for k, v in data.items() for x in v), where=where)


def _q(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


# Fields the test leaves alone: the admin's confirmation of a dangerous action is checked against
# their hash and never stored or shown, and every wrong one counts towards ending their sessions.
NOT_ATTACKED = {"admin_password"}


def _attack_fields(form) -> list[str]:
    names = []
    for f in form.fields:
        if f.name == "csrf_token" or f.name in NOT_ATTACKED or f.kind in ("file", "submit", "button", "reset", "image"):
            continue
        if f.name not in names:
            names.append(f.name)
    return names


def _write(taint: Taint, role: str, urls: list[str]) -> dict:
    forms = _harvest(taint, role, urls)
    tried = accepted = 0
    for key, sources in sorted(forms.items(), key=lambda item: str(item[0])):
        used: set[str] = set()
        for name in _attack_fields(sources[0][1]):
            source, form = _fresh(taint, role, key, sources, used) or sources[0]
            for short in (False, True):
                value = taint.payload(f"{key[0]} {name}", short=short)
                response, _body = _post(taint, role, form, _submission(taint, form, name, value),
                                        where=f"{name} tainted")
                tried += 1
                taint.log.append(f"{key[0]:32} {name:18} {'short' if short else 'full':5} -> {response.status_code}")
                if response.status_code < 400:
                    accepted += 1
                    used.add(source)
                    # Once more over the stored payload: the audit trail's "before" then holds one.
                    again = _fresh(taint, role, key, [(source, form)], set())
                    if again is not None:
                        value = taint.payload(f"{key[0]} {name} (again)", short=short)
                        _post(taint, role, again[1], _submission(taint, again[1], name, value), where=f"{name} again")
                    break
            # The htmx requests inside the form (live checks) with the same field tainted.
            for hx in parse_hx(form, sources):
                value = taint.payload(f"{hx.url} {name}")
                headers = {"HX-Request": "true", **({"HX-Target": hx.target} if hx.target else {})}
                data = _submission(taint, form, name, value)
                _post(taint, role, form, data, where=f"htmx {name} tainted", headers=headers, url=local_path(hx.url))
    return {"forms": len(forms), "tried": tried, "accepted": accepted}


def parse_hx(form, sources):
    """The htmx POSTs made from inside ``form`` (once each)."""
    found, seen = [], set()
    for hx in form.hx:
        if hx.method == "POST" and (hx.url, hx.target) not in seen:
            seen.add((hx.url, hx.target))
            found.append(hx)
    return found


def _import(taint: Taint, role: str) -> None:
    """An uploaded list (CSV and XLSX) with a payload in each column of the template, one row a
    column, the other cells valid; previewed (the preview shows every cell) and confirmed."""
    from openpyxl import Workbook

    from kiosk.wilayah import desa_list

    response, body = taint.request(role, "GET", "/pekerja/impor/templat.csv")
    header = next(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    for fmt in ("csv", "xlsx"):
        rows = []
        for column in range(len(header)):
            n = taint.marks.n + 1
            valid = {
                "nik": nik_for(BIRTH, "P", serial=(3000 + n) % 10000), "nama": f"Siti Impor {n}", "jenis": "P",
                "tempat": "Lahat", "tanggal lahir": "14-07-1985", "alamat": "Dusun I", "kecamatan": "160302",
                "desa": desa_list("160302")[0].name, "pekerjaan": "Petani", "no. hp": "081234567890",
                "penghasilan": "Rp1.500.000",
            }
            row = []
            for title in header:
                lowered = title.casefold()
                row.append(next((v for k, v in valid.items() if lowered.startswith(k)), ""))
            row[column] = taint.payload(f"import {fmt} {header[column]}")
            rows.append(row)
        if fmt == "csv":
            buffer = io.StringIO()
            csv.writer(buffer).writerows([header, *rows])
            data = buffer.getvalue().encode()
        else:
            workbook = Workbook()
            sheet = workbook.active
            for row in [header, *rows]:
                sheet.append(row)
            out = io.BytesIO()
            workbook.save(out)
            data = out.getvalue()
        filename = f"{taint.payload(f'import {fmt} file name')}.{fmt}"
        response, _body = taint.request(role, "POST", "/pekerja/impor", multipart=True,
                                        data={"berkas": (io.BytesIO(data), filename)}, where=f"import {fmt}")
        assert response.status_code == 303, (fmt, response.status_code, _body[-600:])
        preview = local_path(response.headers["Location"])
        for show in ("semua", "tolak"):
            taint.request(role, "GET", f"{preview}?tampil={show}")
        taint.request(role, "GET", preview, headers={"HX-Request": "true", "HX-Target": "import-rows"})
        response, _body = taint.request(role, "POST", preview, where=f"import {fmt} confirm")
        assert response.status_code == 303, (fmt, response.status_code)


# ---- 2. coverage of the stored columns ---------------------------------------------------------


def _text_columns():
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text, JSON)):
                yield table, column


def _stored_markers() -> dict[str, set[str]]:
    """Markers found in each ``table.column``."""
    found: dict[str, set[str]] = {}
    db.session.remove()
    with db.engine.connect() as conn:
        for table, column in _text_columns():
            markers = set()
            for (value,) in conn.execute(select(column).where(column.isnot(None))):
                markers.update(m.group(0).lower() for m in MARK.finditer(str(value)))
            found[f"{table.name}.{column.name}"] = markers
    return found


# ---- 3. render ----------------------------------------------------------------------------------


def _render(taint: Taint, role: str, start: list[str], budget: int = 2500) -> None:
    """Every URL in ``start`` and every link and htmx GET the answers show (this site, GET),
    breadth first."""
    queue = list(dict.fromkeys(start))
    seen = set(queue)
    hx_seen = set()
    while queue and budget > 0:
        url = queue.pop(0)
        budget -= 1
        response, body = taint.request(role, "GET", url)
        if response.mimetype != "text/html" or response.status_code >= 300:
            continue
        taint.request(role, "GET", url, headers={"HX-Request": "true", "HX-Boosted": "true"})
        page = parse(body.decode(), "http://localhost" + url)
        for link in page.links:
            path = local_path(link)
            if path and path not in seen and not path.startswith(("/keluar", "/static/")):
                seen.add(path)
                queue.append(path)
        for hx in page.hx:
            path = local_path(hx.url)
            key = (hx.method, path, hx.target)
            if hx.method != "GET" or not path or key in hx_seen:
                continue
            hx_seen.add(key)
            taint.request(role, "GET", path, headers={"HX-Request": "true",
                                                        **({"HX-Target": hx.target} if hx.target else {})})


def _scan_everywhere(taint: Taint, world: dict) -> None:
    """Cards scanned at the desk (admin, petugas) and at the kiosk; the live NIK check."""
    from kiosk import card_registry
    from kiosk.models import Card, Worker

    db.session.remove()
    cards = db.session.scalars(select(Card).where(Card.revoked_at.is_(None))).all()
    tokens = [card_registry.token_for(card) for card in cards] + [card.fallback_code for card in cards]
    distribution_id = world["distribution_id"]
    for role in ("admin", "petugas"):
        for token in tokens:
            for headers in ({}, {"HX-Request": "true", "HX-Target": "desk-result"}):
                taint.request(role, "POST", f"/penyaluran/{distribution_id}/meja/pindai", data={"code": token},
                              headers=headers)
    for worker in db.session.scalars(select(Worker)).all():
        for headers in ({}, {"HX-Request": "true", "HX-Target": "feedback-nik"}):
            taint.request("admin", "POST", "/pekerja/periksa/nik", data={"nik": worker.nik, "name": "Orang lain",
                                                                       "sex": "L", "birth_date": "1985-07-14"},
                          headers=headers)
    for token in tokens:
        for headers in ({}, {"HX-Request": "true", "HX-Target": "scan-result"}):
            response, body = taint.request("kiosk", "POST", "/kiosk/pindai", data={"code": token}, headers=headers)
            if response.mimetype != "text/html":
                continue
            for form in parse(body.decode(), "http://localhost/kiosk/").forms:
                action = local_path(form.action)
                if action == "/kiosk/ambil":
                    taint.request("kiosk", "POST", action, data={k: v[0] for k, v in form.values().items()},
                                  headers=headers)
        taint.request("kiosk", "POST", "/kiosk/pindai", data={"code": token})  # again: "already collected"


def _prerequisites(taint: Taint, world: dict) -> None:
    """What no form makes by itself, with payloads in it: a petugas whose name is a payload hands
    packages over at the desk (the station the kiosk and the desk then name), one without a card
    and a reason; a second distribution with such handovers is closed (its lists are frozen for
    the BAST); a collect kiosk whose name is a payload is paired."""
    from kiosk import distribution as dist
    from kiosk.models import Distribution, Staff
    from kiosk.terminal import pairing

    db.session.remove()
    staff = db.session.scalars(select(Staff).where(Staff.full_name.like("%zq%"), Staff.active.is_(True))).first()
    assert staff is not None, "no staff account was created with a payload in its name:\n" + "\n".join(taint.log)
    station = f"Meja petugas {staff.full_name}"[:80]
    second = make_distribution(packages=20, name="Penyaluran Tahap II")
    for distribution_id in (world["distribution_id"], second.id):
        for n, worker_id in enumerate(world["worker_ids"][-2:]):
            result = dist.claim(distribution_id, worker_id, request_id=f"taint-{distribution_id}-{n}", staff=staff,
                                station=station, hand_over=True,
                                no_card_reason=taint.payload("no card reason") if n else None,
                                proxy_name=taint.payload("proxy name"), proxy_relation=taint.payload("relation", True))
            assert result.collected or result.replayed, result
    dist.close_distribution(second.id, staff=staff, unhanded="keep")
    distribution = db.session.get(Distribution, world["distribution_id"])
    device, code = pairing.add_device(taint.payload("device name")[:80], "collect", distribution, staff=None)
    kiosk = taint.app.test_client()
    assert kiosk.post("/kiosk/pasang", data={"code": code}).status_code == 303
    taint.clients["kiosk"] = kiosk


# ---- the test ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_typed_text_never_acts_anywhere(app, world, capsys):
    taint = Taint(app, dict(world["clients"]))
    taint.niks = world["niks"]
    rules = sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods), key=lambda r: r.rule)

    # 1. write: every form of every page an admin sees, every field, and the import.
    ids = _ids(app)
    urls = [u for rule in rules if rule.endpoint not in ("static", "auth.logout") for u in _urls(app, rule, ids, 8)]
    summary = _write(taint, "admin", urls)
    taint.clients["anonymous"] = app.test_client()
    anonymous = _write(taint, "anonymous", ["/masuk", "/kiosk/", "/kiosk/pasang"])  # sign-in, pairing
    summary = {k: summary[k] + anonymous[k] for k in summary}
    _import(taint, "admin")
    _prerequisites(taint, world)

    # 2. coverage: every text column holds a marker, or no person writes it.
    stored = _stored_markers()
    unreached = sorted(name for name, markers in stored.items() if not markers and name not in NOT_TYPED)
    stale = sorted(name for name in NOT_TYPED if name not in stored)
    assert not stale, f"NOT_TYPED names columns that no longer exist: {stale}"
    assert not unreached, (
        "no form this test found wrote a payload into these columns; if a person can write them, "
        f"give the form's required fields a valid value in _valid(), else add them to NOT_TYPED: {unreached}\n"
        + "\n".join(taint.log))

    # 3. render: every GET route for every row, the links and htmx requests of every answer.
    ids = _ids(app)
    start = [u for rule in rules if rule.endpoint != "static" for u in _urls(app, rule, ids)]
    public = [u for u in start if u.startswith(("/kiosk/", "/masuk"))]
    for role in ("admin", "petugas", "kiosk", "anonymous"):
        # A kiosk or a stranger asking for a staff page is sent to sign in (the access matrix
        # checks that): they get the kiosk's and the sign-in pages.
        _render(taint, role, start if role in ("admin", "petugas") else public)
    _scan_everywhere(taint, world)

    endpoints = {r.endpoint for r in rules}
    missing = sorted(e for e in endpoints if not taint.rendered.get(e) and e not in NOT_RENDERED)
    stale = sorted(e for e in NOT_RENDERED if e not in endpoints)
    assert not stale, f"NOT_RENDERED names routes that no longer exist: {stale}"
    assert not missing, f"GET routes never rendered with content (add rows or links so they are): {missing}"

    # 4. every stored column was shown somewhere (else the render phase proved nothing for it).
    never_shown = sorted(name for name, markers in stored.items()
                         if markers and name not in NOT_TYPED and not markers & taint.shown)
    with capsys.disabled():
        print(f"\ntaint: {summary['forms']} forms, {summary['tried']} tainted submissions "
              f"({summary['accepted']} accepted), {len([s for s in stored.values() if s])} columns tainted, "
              f"{taint.requests} answers checked, {len(taint.rendered)} GET routes rendered")
    problems = sorted(set(taint.problems))
    if problems:
        OUTPUT.mkdir(exist_ok=True)
        (OUTPUT / "taint-problems.txt").write_text("\n".join(problems) + "\n")
    assert not problems, (f"typed text acted or was evaluated ({len(problems)}, all in "
                          f"test-output/taint-problems.txt):\n" + "\n".join(p[:300] for p in problems[:40]))
    assert not never_shown, f"columns holding a payload that no answer showed: {never_shown}"


def test_the_checks_see_markup_formulas_and_evaluation():
    """The checks above can fail: markup that became tags, a marker in an htmx or event
    attribute, a template evaluated, markup a PDF read as markup, a formula cell — each is seen;
    the same payload shown as text is not."""
    from openpyxl import Workbook
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate
    from xml.sax.saxutils import escape

    taint = Taint(None, {})
    payload = taint.payload("self-test")
    marker = MARK.search(payload).group(0)

    def html_problems(html: str) -> list[str]:
        return taint_problems(html, MARK, EVAL)

    quoted = escape(payload, {'"': "&quot;"})
    assert html_problems(f'<p>{escape(payload)}</p><input value="{quoted}">') == []
    assert html_problems(f"<p>{payload}</p>")  # the markup became tags
    assert html_problems(f"<p>={marker}49</p>")  # {{7*7}} evaluated
    assert html_problems(f"<p>={marker}{{{{7*7}}}}Siti</p>")  # %(name)s formatted
    assert html_problems(f'<div hx-vals=\'{{"a": "{marker}"}}\'></div>')
    assert html_problems(f"<a href=\"/pekerja/{marker}\">x</a>")  # a marker in a path
    assert html_problems(f"<script>var a = '{marker}';</script>")
    assert not html_problems(f"<a href=\"/pekerja/?q=%3D{marker}%7B%7B7*7%7D%7D\">x</a>")  # a search link

    def pdf_of(text: str) -> bytes:
        out = io.BytesIO()
        SimpleDocTemplate(out).build([Paragraph(text, getSampleStyleSheet()["Normal"])])
        return out.getvalue()

    pdf = type("R", (), {"mimetype": "application/pdf"})()
    taint.check(pdf, pdf_of(escape(payload.split("<img")[0])), "escaped")
    assert taint.problems == []
    taint.check(pdf, pdf_of(f"={marker}{escape(EVAL)}<b>x</b>"), "markup read as markup")
    assert len(taint.problems) == 1
    taint.problems.clear()

    csv_answer = type("R", (), {"mimetype": "text/csv"})()
    taint.check(csv_answer, ("'" + payload + "\n").encode(), "guarded")
    assert taint.problems == []
    taint.check(csv_answer, (payload + "\n").encode(), "formula")
    assert taint.problems
    taint.problems.clear()

    workbook = Workbook()
    workbook.active["A1"] = payload  # openpyxl writes a text starting with "=" as a formula
    out = io.BytesIO()
    workbook.save(out)
    xlsx = type("R", (), {"mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})()
    taint.check(xlsx, out.getvalue(), "formula")
    assert taint.problems
