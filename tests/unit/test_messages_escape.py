"""Text a person typed is data in every message (DESIGN invariant 7).

Two halves: the message helper escapes what it is given, and nothing in the code can make
markup out of data by another road (flask-babel's lazy strings, ``Markup(...)`` of a variable,
``|safe`` in a template). The taint test (``tests/test_taint.py``) then renders every page with
hostile text in every field; these checks stop the next road being opened.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask import Flask, flash, get_flashed_messages, render_template_string
from markupsafe import Markup

from kiosk.i18n import Message, _l

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD = """<b hx-post="/admin/petugas/2/peran" hx-vals='{"role":"admin"}' hx-trigger="load">Siti</b>"""


@pytest.fixture()
def bare_app():
    from flask_babel import Babel

    app = Flask(__name__)
    app.secret_key = "test"
    Babel(app)
    return app


def test_parameters_are_escaped_in_a_page(bare_app):
    with bare_app.test_request_context():
        message = _l("NIK ini sudah terdaftar atas nama %(name)s.", name=PAYLOAD)
        html = render_template_string("<p>{{ m }}</p>", m=message)
    assert "<b" not in html and "hx-post=" not in html.replace("hx-post=&#34;", "")
    assert "&lt;b hx-post=&#34;/admin/petugas/2/peran&#34;" in html


def test_plain_text_stays_plain(bare_app):
    """Documents, sheets and logs want the text as it was typed."""
    with bare_app.test_request_context():
        assert str(_l("Data %(name)s sudah disimpan.", name="Siti & <Ani>")) == "Data Siti & <Ani> sudah disimpan."


def test_a_flash_keeps_the_escaping_through_the_session(bare_app):
    """Flask's session serialiser turns anything with ``__html__`` into Markup: that is where
    flask-babel's lazy strings became live HTML."""

    @bare_app.get("/set")
    def set_():
        flash(_l("Data %(name)s sudah disimpan.", name=PAYLOAD))
        return ""

    @bare_app.get("/get")
    def get_():
        return render_template_string("{% for m in get_flashed_messages() %}{{ m }}{% endfor %}")

    client = bare_app.test_client()
    client.get("/set")
    html = client.get("/get").get_data(as_text=True)
    assert "<b" not in html
    assert "&lt;b" in html


def test_nested_messages_are_escaped_once(bare_app):
    with bare_app.test_request_context():
        inner = _l("Nama %(name)s.", name="<i>")
        outer = _l("Gagal: %(why)s", why=inner)
        assert str(Markup("{}").format(outer)) == "Gagal: Nama &lt;i&gt;."
        assert isinstance(outer, Message)


def test_format_looking_input_is_not_formatted(bare_app):
    with bare_app.test_request_context():
        message = _l("Data %(name)s sudah disimpan.", name="%(name)s {{7*7}}")
        assert str(message) == "Data %(name)s {{7*7}} sudah disimpan."
        assert "49" not in render_template_string("{{ m }}", m=message)


def _python_files():
    return sorted((ROOT / "kiosk").rglob("*.py"))


def test_only_the_message_helper_touches_flask_babel_gettext():
    """flask-babel's ``lazy_gettext``/``gettext`` present formatted text as safe HTML or skip
    our escaping; every translatable text in Python goes through ``kiosk.i18n._l``."""
    offenders = []
    for path in _python_files():
        if path.name == "i18n.py" and path.parent.name == "kiosk":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("flask_babel"):
                names = {alias.name for alias in node.names}
                if names & {"gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "lazy_pgettext", "_"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"use kiosk.i18n._l instead: {offenders}"


# Markup built from something other than a literal: each entry says why it cannot hold typed text.
MARKUP_ALLOWED: dict[str, str] = {
    "kiosk/i18n.py": "escape() of a catalog text; parameters escaped by Markup's %",
}


def test_markup_is_only_made_from_literals():
    offenders = []
    for path in _python_files():
        rel = str(path.relative_to(ROOT))
        if rel in MARKUP_ALLOWED:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Markup":
                if not (len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
                    offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"Markup() of a variable can carry typed text into a page: {offenders}"


# ``|safe`` in templates: each entry is a file and the exact expression, with why it is safe.
SAFE_ALLOWED = {
    ("templates/terminal/_panel.html", "('<span data-countdown>%d</span>'|format(seconds))|safe"):
        "a literal span around an integer",
}


def test_templates_never_mark_data_safe():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(ROOT))
        text = path.read_text()
        if re.search(r"autoescape\s+false", text):
            offenders.append(f"{rel}: autoescape false")
        for match in re.finditer(r"\(?[^{}()]*(?:\([^{}]*?\))?\)?\|safe\b", text):
            expression = match.group(0).strip()
            if not any(rel == f and expression.endswith(e) for f, e in SAFE_ALLOWED):
                offenders.append(f"{rel}: {expression}")
        if not path.name.endswith((".html", ".svg", ".xml")):
            offenders.append(f"{rel}: a template without an autoescaped ending")
    assert not offenders, offenders
