"""The app's floor: the kiosk app exactly as ``wsgi:app`` serves it, except that the scan's view
(``POST /kiosk/pindai``) answers at once with the ceiling's fragment of ``?bytes=N`` bytes.
Everything around the view runs as served: the static layer, the answer headers, Flask's
request, the session, the kiosk's device and form-token check, every hook, the request log. So
the floor ÷ the ceiling is the best ratio any scan could reach on this app's request handling,
and what lies between the floor and the scan is the scan's own work.

Serve with ``gunicorn --config gunicorn.conf.py bench.floor:app`` (``bench/scan.py`` does).
"""

from __future__ import annotations

from flask import make_response

from bench.ceiling import _size, fragment
from kiosk import create_app

app = create_app()


def answer_at_once():
    """A scan's answer of the scan's size, without the scan."""
    return make_response(fragment(_size()))


app.view_functions["terminal.scan"] = answer_at_once
