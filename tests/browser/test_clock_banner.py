"""The kiosk on screen learns that the server's clock went wrong (and right again) from its
ping, without being reloaded: the warning appears at the bottom, and goes once an admin confirms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk import clock
from kiosk.database import utcnow
from kiosk.extensions import db
from kiosk.models import AuditEvent
from test_kiosk import WAIT_MS, open_kiosk

pytestmark = pytest.mark.browser


def test_the_kiosk_shows_the_clock_warning_while_the_server_clock_is_not_believed(browser_factory, live_server, output_dir):
    page, _device = open_kiosk(browser_factory, live_server, camera=False)
    assert page.is_hidden("#clock-warning")
    db.session.add(AuditEvent(at=utcnow() + timedelta(days=2), action="worker.create", entity_type="worker"))
    db.session.commit()
    clock.state(fresh=True)  # as the server finds within CHECK_SECONDS by itself
    banner = page.wait_for_selector("#clock-warning:not([hidden])", timeout=WAIT_MS)
    assert "Jam server belum benar" in banner.inner_text()
    page.screenshot(path=str(output_dir / "kiosk-clock-wrong.png"))
    from factories import make_staff

    clock.confirm(staff=make_staff(role="admin"))
    db.session.remove()
    page.wait_for_selector("#clock-warning", state="hidden", timeout=WAIT_MS)
    assert page.errors == []
