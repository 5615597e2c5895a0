"""The kiosk's result panel drawn from its shapes (``kiosk.terminal.panel``) is, for every answer,
the text Jinja draws for it: for every kind of screen, in both languages, for hostile names, for
the second person of a shape as for the first. A template that reads what a shape takes out,
or whose text depends on more than where a person's words go, is drawn by Jinja instead."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

import pytest
from jinja2 import ChoiceLoader, DictLoader, nodes
from markupsafe import escape

from kiosk.coverage import PROGRAMMES
from kiosk.i18n import _l
from kiosk.terminal import panel
from kiosk.terminal.screen import CoverageView, Result, ScannedWorker, SembakoView
from kiosk.tokens import Refusal

CREDENTIAL = "kiosk-credential-for-the-panel-tests"
HTMX = {"HX-Request": "true", "HX-Target": "scan-result"}
# Names a clerk or an import could store: markup, quotes, a template and a format string, a
# spreadsheet formula, letters outside ASCII, a marker's own edges, a very long one.
NAMES = (
    "Siti Aminah",
    "Budi'\"><b hx-get=/x hx-trigger=load>",
    "<img src=x onerror=alert(1)> & {{7*7}} %(name)s",
    "=HYPERLINK(\"http://x\")",
    "Ñoño Ümlaut Śląski 李",
    "\x00h0\x00 \x00h1\x00",
    "Panjang " * 40,
)


class _Device:
    id, name, mode, distribution_id, slip_paper = 7, "Kios <uji>", "collect", 3, None


def _context(result, seconds=9, help_desk="Meja 1 & 2"):
    return {"device": _Device(), "seconds": seconds, "help_desk": help_desk, "result": result, "slip": None}


def _coverages():
    programmes = [(code, PROGRAMMES[code].name, PROGRAMMES[code].benefit) for code in ("JKK", "JKM")]
    yield CoverageView(code="aktif", start=date(2026, 11, 1), end=date(2027, 1, 31), days_left=63,
                       programmes=programmes)
    yield CoverageView(code="aktif", start=date(2026, 11, 1), end=date(2026, 11, 28), days_left=0,
                       programmes=programmes)
    yield CoverageView(code="belum_aktif", start=date(2026, 12, 1), end=date(2027, 2, 28), days_left=None)
    yield CoverageView(code="berakhir", start=date(2026, 1, 1), end=date(2026, 3, 31), days_left=None)
    yield CoverageView(code="none")


def _sembakos(person: int, name: str):
    """Every sembako state; what differs between two people of a shape is only theirs."""
    yield None
    yield SembakoView(state="available", message=_l("Paket Anda tersedia — tekan AMBIL"),
                      ticket=f"ticket-{person}.x_y")
    at = datetime(2026, 11, 28, 3, 4, 5, tzinfo=timezone.utc)
    yield SembakoView(state="waiting", message=_l("Sudah diambil."), seq=10 + person, total=500, collected_at=at,
                      station=f"Kios {person}")
    yield SembakoView(state="already", message=_l("Sudah diterima oleh %(name)s.", name=f"Wakil {name}"),
                      seq=20 + person,
                      total=500, collected_at=at, station="Meja")
    yield SembakoView(state="already", message=_l("Sudah diterima."), seq=None, total=500)
    yield SembakoView(state="refused", message=_l("Anda tidak ada dalam daftar penyaluran ini."))
    yield SembakoView(state="collected", message=_l("Paket ke-%(seq)s dari %(total)s", seq=30 + person, total=500),
                      seq=30 + person, total=500, collected_at=at,
                      station=f"Kios {person}", replayed=bool(person % 2))


def _results(person: int, name: str):
    """Every kind of answer, for one person."""
    yield None  # the welcome screen (back to the start)
    for refusal, typed in itertools.product(Refusal, (False, True)):
        yield Result(refusal=refusal, typed=typed)
    yield Result(too_many=True, wait=300)
    yield Result(too_many=True)
    worker = ScannedWorker(id=person, name=name, nik=f"16030141{person:08d}", photo=f"photo-{person}.jpg")
    for coverage, sembako, photo in itertools.product(_coverages(), _sembakos(person, name), (True, False)):
        yield Result(worker=worker, masked_nik=f"1603••••••••{person:04d}",
                     photo_url=f"/kiosk/foto/t{person}&x=1" if photo else None, coverage=coverage, sembako=sembako)


def _kiosk_request(app, lang="id"):
    cookie = f"kiosk_device={CREDENTIAL}" + ("; lang=en" if lang == "en" else "")
    return app.test_request_context("/kiosk/pindai", method="POST", headers={**HTMX, "Cookie": cookie})


@pytest.fixture
def in_kiosk(app):
    """Run ``body(lang)`` inside a kiosk request of a paired device, in each language."""
    from flask import g
    from flask_babel import get_locale, refresh

    def run(body, langs=("id", "en")):
        for lang in langs:
            with _kiosk_request(app, lang):
                g.device = _Device()
                refresh()  # the test's app context outlives each request: its language, anew
                assert str(get_locale()) == lang
                body(lang)

    return run


@pytest.mark.parametrize("second", range(1, len(NAMES)))
def test_each_answer_is_the_one_jinja_draws(app, in_kiosk, second):
    """For every kind of screen, two people of one shape, the second with a hostile name, get
    exactly Jinja's text: when the shape is first seen, when it is learnt and when each is drawn
    from it."""

    def check(_lang):
        panel.forget()
        for first, other in zip(_results(1, NAMES[0]), _results(2, NAMES[second])):
            # Seen, learnt (from the second person), then drawn from the shape for each.
            for result in (first, other, first, other):
                context = _context(result)
                assert panel.render(context) == panel._jinja(context)
        shapes = panel._shapes().parts
        assert shapes and all(parts is not panel._BY_JINJA for parts in shapes.values()), \
            "every one of today's screens should be drawn from its shape"

    in_kiosk(check)


def test_a_shape_serves_the_next_person_without_their_predecessor(app, in_kiosk):
    def check(_lang):
        panel.forget()
        coverage = next(_coverages())
        for person, name in enumerate(NAMES):
            sembako = SembakoView(state="available", message=_l("Paket Anda tersedia — tekan AMBIL"),
                                  ticket=f"T{person}")
            result = Result(worker=ScannedWorker(id=person, name=name, nik="x", photo=None), masked_nik=f"M{person}",
                            photo_url=None, coverage=coverage, sembako=sembako)
            answer = panel.render(_context(result))
            assert f'value="T{person}"' in answer and f"M{person}" in answer
            assert not any(f"M{earlier}<" in answer or f'value="T{earlier}"' in answer for earlier in range(person))
            (kept,) = panel._shapes().parts.values()  # one shape: seen once, then learnt, then used
            assert (kept is panel._SEEN) == (person == 0) and kept is not panel._BY_JINJA

    in_kiosk(check)


def test_a_text_without_parameters_is_keyed_and_not_translated_per_answer(app, in_kiosk, monkeypatch):
    """A sembako message without parameters says the same to everyone in a language: it is part
    of the key (another such text, another shape), and an answer drawn from a learnt shape
    translates nothing; one with parameters stays a hole (``test_scans_and_claims_...``)."""
    from kiosk import i18n

    translated = []
    real = i18n._gettext
    monkeypatch.setattr(i18n, "_gettext", lambda *args, **kwargs: translated.append(args) or real(*args, **kwargs))

    def check(_lang):
        panel.forget()
        coverage = next(_coverages())
        for text in ("Paket Anda tersedia — tekan AMBIL", "Paket sembako sudah habis."):
            for person in range(4):
                sembako = SembakoView(state="available", message=_l(text), ticket=f"T{person}")
                result = Result(worker=ScannedWorker(id=person, name=NAMES[person], nik="x", photo=None),
                                masked_nik=f"M{person}", photo_url=None, coverage=coverage, sembako=sembako)
                context = _context(result)
                translated.clear()
                answer = panel.render(context)
                if person >= 2:  # seen, learnt, then drawn from the shape
                    assert translated == []
                assert answer == panel._jinja(context)
        assert len(panel._shapes().parts) == 2

    in_kiosk(check)


def test_the_template_reads_only_what_a_shape_keys(app):
    """What the panel takes from its context must be in a shape's key, or be a hole, or be the
    same for every answer: a name the template starts to read has to be added to
    ``panel.PANEL_NAMES`` knowingly (and to ``panel._shape`` when it differs per person)."""
    env = app.jinja_env
    source = env.loader.get_source(env, panel.TEMPLATE)[0]
    tree = env.parse(source, panel.TEMPLATE)
    # Every name it loads (template globals too: ``meta.find_undeclared_variables`` leaves those
    # out), less the ones it sets itself and a loop's ``loop``.
    targets = [node.target for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For))]
    own = {name.name for target in targets
           for name in ([target] if isinstance(target, nodes.Name) else target.find_all(nodes.Name))} | {"loop"}
    names = {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"} - own
    assert names <= panel.PANEL_NAMES, sorted(names - panel.PANEL_NAMES)
    assert {"result", "seconds", "help_desk", "icons", "kiosk_urls", "csrf_token", "_t"} <= names, sorted(names)


@pytest.mark.parametrize("addition", [
    "{{ result.worker.nik if result and result.worker }}",   # a value the panel must not read
    "{{ device.name }}",
    "{{ result.sembako.station if result and result.sembako }}",
    "{{ (result.worker.name|upper) if result and result.worker }}",  # a filter on a hole
    "{% if result and result.worker and result.worker.name|length > 30 %}LONG{% endif %}",  # its length
    "{{ (result.sembako.seq + 1) if result and result.sembako and result.sembako.seq }}",  # arithmetic on a hole
])
def test_a_template_reading_past_its_holes_is_drawn_by_jinja(app, in_kiosk, addition):
    env = app.jinja_env
    source = env.loader.get_source(env, panel.TEMPLATE)[0]
    changed = source.replace("</section>", addition + "</section>")
    original = env.loader
    env.loader = ChoiceLoader([DictLoader({panel.TEMPLATE: changed}), original])
    env.cache.clear()
    try:
        def check(_lang):
            panel.forget()
            for first, other in zip(_results(1, "Ani"), _results(2, NAMES[-1])):
                for result in (first, other):
                    context = _context(result)
                    assert panel.render(context) == panel._jinja(context)
            assert panel._BY_JINJA in panel._shapes().parts.values()

        in_kiosk(check, langs=("id",))
    finally:
        env.loader = original
        env.cache.clear()


def test_shapes_are_bounded(app, in_kiosk, monkeypatch):
    monkeypatch.setattr(panel, "SHAPES", 3)

    def check(_lang):
        panel.forget()
        for seconds in range(5, 15):
            panel.render(_context(None, seconds=seconds))
        assert len(panel._shapes().parts) == 3

    in_kiosk(check, langs=("id",))


def test_a_settings_nul_sends_the_shape_to_jinja(app, in_kiosk):
    """A NUL in a keyed value (an admin's help-desk text) is not a marker: Jinja draws it."""

    def check(_lang):
        panel.forget()
        context = _context(Result(refusal=Refusal.REVOKED), help_desk="Meja \x00h0\x00")
        assert panel.render(context) == panel._jinja(context)
        assert panel.render(context) == panel._jinja(context)
        assert list(panel._shapes().parts.values()) == [panel._BY_JINJA]

    in_kiosk(check, langs=("id",))


def test_a_slip_is_drawn_by_jinja(app, in_kiosk):
    def check(_lang):
        panel.forget()
        result = Result(worker=ScannedWorker(id=1, name="Ani", nik="x", photo=None), masked_nik="M",
                        coverage=CoverageView(code="none"),
                        sembako=SembakoView(state="collected", message=_l("Diambil."), seq=4, total=9))
        slip = {"paper": "58", "seq": 4, "total": 9, "name": "Ani", "masked_nik": "M", "distribution": "D",
                "at": datetime(2026, 11, 28, tzinfo=timezone.utc), "station": "K", "key": "3-4"}
        context = {**_context(result), "slip": slip}
        assert panel.render(context) == panel._jinja(context)
        assert not panel._shapes().parts

    in_kiosk(check, langs=("id",))


def test_every_other_value_of_the_context_is_keyed(app, in_kiosk):
    """Two answers that differ in anything but a person's words are two shapes: the seconds, the
    help desk, the language (``in_kiosk`` runs both in one app)."""
    def check(_lang):
        for seconds, desk in itertools.product((5, 9), ("Meja 1", "Loket <2>")):
            for result in (Result(refusal=Refusal.REVOKED), None):
                context = _context(result, seconds=seconds, help_desk=desk)
                assert panel.render(context) == panel._jinja(context)

    panel_app_shapes = []
    in_kiosk(check)
    in_kiosk(lambda _lang: panel_app_shapes.append(len(panel._shapes().parts)), langs=("id",))
    assert panel_app_shapes == [16]


def test_scans_and_claims_through_the_kiosk_are_drawn_from_shapes(app, client):
    """Through the views: on a collect kiosk, one shape serves every scan that offers AMBIL and one
    serves every claim (its message names the package: a hole, not a key), each answer with its
    own person and package number, each the text Jinja draws."""
    from factories import covered_worker, make_card, make_distribution
    from test_terminal_views import PANEL, pair_client, ticket_of

    distribution = make_distribution(packages=10)
    pair_client(client, mode="collect", distribution=distribution)
    names = ["Siti Aminah", NAMES[1], NAMES[2], "Rudi Saputra"]
    tokens = []
    for name in names:
        worker = covered_worker(name=name, sex="P")
        tokens.append(make_card(worker)[1])
    for seq, (name, token) in enumerate(zip(names, tokens), start=1):
        offer = client.post("/kiosk/pindai", data={"code": token}, headers=PANEL).get_data(as_text=True)
        assert 'data-sembako="available"' in offer and str(escape(name)) in offer
        claimed = client.post("/kiosk/ambil", data={"ticket": ticket_of(offer)}, headers=PANEL).get_data(as_text=True)
        assert 'data-state="collected"' in claimed and f'data-seq="{seq}"' in claimed and str(escape(name)) in claimed
        assert not any(str(escape(other)) in claimed for other in names[:seq - 1])
    with app.app_context():
        kept = list(panel._shapes().parts.values())
    learnt = [parts for parts in kept if parts not in (panel._SEEN, panel._BY_JINJA)]
    assert len(kept) == 2 and len(learnt) == 2, "one shape for the offers, one for the claims"
