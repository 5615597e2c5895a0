"""A second tap while a form's request runs sends nothing, and the guard costs no console error
on links and live checks (an hx-disabled-elt inherited from the body logged one for each)."""

import pytest

from factories import make_staff

pytestmark = pytest.mark.browser


def test_submit_buttons_are_off_while_the_request_runs(app, live_server, browser_factory):
    with app.app_context():
        make_staff(username="siti", role="admin")
    page = browser_factory().new_page()
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    held = []
    page.route("**/masuk", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())

    page.goto(live_server.url + "/masuk")
    page.get_by_label("Nama pengguna").fill("siti")
    page.get_by_label("Kata sandi").fill("rahasia-123")
    button = page.locator("main").get_by_role("button", name="Masuk")
    button.click()
    page.wait_for_function("() => document.querySelector('main button[type=submit], main button:not([type])').disabled")
    assert len(held) == 1
    button.click(force=True)  # the second tap of an impatient clerk
    page.wait_for_timeout(300)
    assert len(held) == 1, "a second request was sent while the first ran"
    held[0].continue_()
    page.get_by_role("heading", name="Beranda").wait_for()

    # Boosted navigation and a live check: requests from elements without a button.
    page.unroute("**/masuk")
    page.goto(live_server.url + "/pekerja/baru")
    page.get_by_label("NIK").fill("1603")
    page.get_by_label("NIK").blur()
    page.get_by_role("link", name="Pekerja", exact=True).first.click()
    page.get_by_role("heading", name="Pekerja", exact=True).wait_for()
    assert errors == []
