"""The admin page *Jam server*: the server's time, the earliest time it would believe and why,
and the admin's confirmation that the time shown is right (``kiosk.clock``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_login import current_user
from flask_wtf import FlaskForm

from .. import clock
from ..auth import admin_required
from ..i18n import _l
from . import bp


class ConfirmForm(FlaskForm):
    """The confirmation button (its CSRF token only)."""


def _long(moment) -> str:
    return format_datetime(moment, "EEEE, d MMMM y, HH.mm.ss")


def _page(status: int = 200):
    state = clock.state(fresh=True)
    return render_template("admin/clock.html", state=state, now=_long(state.now), floor=_long(state.floor),
                           release=clock.RELEASE_DATE, form=ConfirmForm(formdata=None)), status


@bp.get("/jam")
@admin_required
def clock_page():
    """The server's clock: its time now, whether it is believed, how to set it right."""
    return _page()


@bp.post("/jam")
@admin_required
def clock_confirm():
    """Confirm that the server's time shown is right (claims are answered again)."""
    if not ConfirmForm().validate_on_submit():
        flash(_l("Permintaan tidak sah. Muat ulang halaman lalu coba lagi."), "error")
        return redirect(url_for("admin.clock_page"))
    try:
        clock.confirm(staff=current_user)
    except clock.ClockError as error:
        flash(error.message, "error")
        return _page(422)
    flash(_l("Jam server dipastikan benar. Pengambilan sembako berjalan lagi."), "success")
    return redirect(url_for("admin.clock_page"))
