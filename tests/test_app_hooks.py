"""``KioskFlask.ensure_sync`` remembers which hooks and views are plain functions instead of
asking ``inspect`` on every request, and keeps nothing alive by remembering it; the session
interface saves a session as Flask does."""

from __future__ import annotations

import gc

from flask import after_this_request


def test_ensure_sync_remembers_without_keeping(app):
    def view():
        return "ok"

    assert app.ensure_sync(view) is view and view in app._sync_functions
    seen = []

    @app.get("/_uji_setelah")
    def with_a_closure():
        @after_this_request
        def note(response):
            seen.append(response.status_code)
            return response

        return "ok"

    client = app.test_client()
    for _ in range(3):
        assert client.get("/_uji_setelah").status_code == 200
    assert seen == [200, 200, 200]
    gc.collect()
    assert not [f for f in app._sync_functions if f.__name__ == "note"]  # each request's closure is gone


def test_saving_a_session_answers_as_flask_does(app):
    """``CookieSessions.save_session`` skips Flask's work for an empty, unchanged session; every
    other case, and the headers of that one, are Flask's own."""
    import itertools

    from flask.sessions import SecureCookieSessionInterface

    from kiosk.web import CookieSessions

    def headers(interface, data, modified, accessed):
        session = interface.session_class(data)
        session.modified, session.accessed = modified, accessed
        response = app.response_class("")
        interface.save_session(app, session, response)
        return sorted(response.headers.items())

    with app.test_request_context("/"):
        for data, modified, accessed in itertools.product(({}, {"_user_id": "1"}), (False, True), (False, True)):
            ours = headers(CookieSessions(), data, modified, accessed)
            assert ours == headers(SecureCookieSessionInterface(), data, modified, accessed), (data, modified, accessed)
