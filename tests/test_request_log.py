"""The request log (``kiosk.web.log_request``): one line per request, the path only. On a server
as installed, with nothing in ``logging`` configured, the line is written straight to the WSGI
server's error stream as Flask's default handler would write it; with any handler or filter on
the way, every line goes through ``logging``. Both ways are checked here, and checked to write
the same line."""

from __future__ import annotations

import io
import json
import logging
import re
from contextlib import contextmanager

import pytest
from flask.logging import default_handler

from kiosk import web

LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\] INFO in web: (\{.*\})$")


class Kept(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def nothing_configured():
    """``logging`` as on a server as installed (gunicorn): no handler on the root logger, so
    the app's logger has Flask's default handler (``app.logger`` adds it when no handler would
    take its records). In the suite the migrations' logging configuration put a handler on the
    root logger first, and pytest adds its capture handlers there for each test's call: all are
    taken off for the block (so this is done in the test's body) and put back before pytest
    takes its own away."""
    kiosk = logging.getLogger("kiosk")
    saved, saved_kiosk = logging.root.handlers[:], kiosk.handlers[:]
    for handler in saved:
        logging.root.removeHandler(handler)
    kiosk.handlers[:] = [default_handler]
    try:
        yield
    finally:
        kiosk.handlers[:] = saved_kiosk
        for handler in saved:
            logging.root.addHandler(handler)


def _get(client, path: str, stream: io.StringIO):
    return client.get(path, errors_stream=stream)


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if " in web: " in line]


def test_nothing_configured_writes_the_line_flask_would(app, client, monkeypatch):
    """The line written straight is the line Flask's default handler writes for the same
    request, to the same stream: the format, the time, the module, the entry."""
    with nothing_configured():
        assert web._only_flask_handler()
        straight = io.StringIO()
        assert _get(client, "/kiosk/?awal=1", straight).status_code == 200
        # The same request through logging: a filter on the request log that lets everything pass.
        monkeypatch.setattr(web.request_log, "filters", [lambda record: True])
        assert not web._only_flask_handler()
        through_logging = io.StringIO()
        assert _get(client, "/kiosk/?awal=1", through_logging).status_code == 200

        (mine,), (flasks,) = _lines(straight), _lines(through_logging)
        assert straight.getvalue() == mine + "\n"  # one line, ended as the handler ends it
        a, b = LINE.match(mine), LINE.match(flasks)
        assert a and b, (mine, flasks)
        first, second = json.loads(a[3]), json.loads(b[3])
        first.pop("ms"), second.pop("ms")
        assert first == second == {"method": "GET", "path": "/kiosk/", "endpoint": "terminal.index", "status": 200}
        # The same clock as the handler's (local time, milliseconds cut, not rounded): within the
        # few seconds between the two requests.
        assert abs(_seconds(a) - _seconds(b)) < 5


def _seconds(match) -> float:
    import time

    return time.mktime(time.strptime(match[1], "%Y-%m-%d %H:%M:%S")) + int(match[2]) / 1000


def test_the_stamp_is_the_handlers_own(app):
    """The written time is what Flask's formatter makes of the same moment."""
    with nothing_configured():
        import time

        record = logging.LogRecord("kiosk.request", logging.INFO, __file__, 1, "x", None, None)
        stream = io.StringIO()
        with app.test_request_context(environ_base={"wsgi.errors": stream}):
            before = time.time()
            assert web._write_as_flask_would({"wsgi.errors": stream}, "x")
            after = time.time()
        written = LINE.match(stream.getvalue().rstrip("\n").replace(" x", " {}"))
        assert written
        record.created, record.msecs = before, int((before % 1) * 1000)
        earliest = default_handler.formatter.formatTime(record)
        record.created, record.msecs = after, int((after % 1) * 1000)
        latest = default_handler.formatter.formatTime(record)
        assert earliest <= f"{written[1]},{written[2]}" <= latest


@pytest.mark.parametrize("where", ["root handler", "request log handler", "filter on the handler", "other format"])
def test_anything_configured_gets_every_line_through_logging(app, client, monkeypatch, where):
    """A logging configuration (or a test's capture) sees every request line as a record, and
    nothing is written around it."""
    with nothing_configured():
        kept = Kept()
        if where == "root handler":
            monkeypatch.setattr(logging.root, "handlers", [kept])
        elif where == "request log handler":
            monkeypatch.setattr(web.request_log, "handlers", [kept])
        elif where == "filter on the handler":
            monkeypatch.setattr(default_handler, "filters", [lambda record: kept.records.append(record) or True])
        else:
            monkeypatch.setattr(default_handler, "formatter", logging.Formatter("%(levelname)s %(message)s"))
        assert not web._only_flask_handler()
        stream = io.StringIO()
        assert _get(client, "/kiosk/", stream).status_code == 200
        if where == "other format":
            assert stream.getvalue().startswith("INFO {")  # the handler's own format: logging wrote it
            return
        assert [json.loads(r.getMessage())["path"] for r in kept.records if r.name == "kiosk.request"] == ["/kiosk/"]
        if where != "request log handler":  # that one keeps the line from Flask's handler too
            assert len(_lines(stream)) == 1


def test_a_stream_that_refuses_leaves_the_line_to_logging(app, client, monkeypatch):
    """A broken error stream never breaks the answer: the line goes to logging, which handles
    the error as it does for every record."""
    with nothing_configured():

        class Broken(io.StringIO):
            def write(self, text):
                raise OSError("disk full")

        calls = []
        monkeypatch.setattr(web.request_log, "info", lambda message: calls.append(message))
        assert client.get("/kiosk/", errors_stream=Broken()).status_code == 200
        assert [json.loads(m)["path"] for m in calls] == ["/kiosk/"]


def test_the_line_holds_the_path_only(app, client):
    """The query string (a NIK being searched, a code) never reaches the line."""
    with nothing_configured():
        stream = io.StringIO()
        _get(client, "/kiosk/pasang?kode=1603015505900001", stream)
        (line,) = _lines(stream)
        assert "1603015505900001" not in line and "kode" not in line
        assert json.loads(LINE.match(line)[3])["path"] == "/kiosk/pasang"


def test_a_disabled_request_log_writes_nothing(app, client, monkeypatch):
    with nothing_configured():
        stream = io.StringIO()
        monkeypatch.setattr(web.request_log, "level", logging.WARNING)
        _get(client, "/kiosk/", stream)
        assert _lines(stream) == []
