"""Kiosk devices (admin): add a tablet or PC as a kiosk, show its one-time pairing code and QR,
rename it or change its task (without pairing it again), make a new code, revoke it."""

from __future__ import annotations

import base64
import io

import qrcode
from flask import flash, redirect, render_template, url_for
from ..i18n import _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..auth import admin_required
from ..auth.reauth import admin_password_field
from ..extensions import db
from ..models import Device, Distribution
from ..terminal import pairing
from . import bp


class DeviceForm(FlaskForm):
    name = StringField(
        _l("Nama perangkat"),
        validators=[DataRequired(_l("Isi nama perangkat.")), Length(max=80)],
        filters=[lambda v: v.strip() if v else v],
    )
    mode = RadioField(
        _l("Tugas kios"),
        choices=[SelectChoice("check", _l("Cek kepesertaan saja")), SelectChoice("collect", _l("Cek kepesertaan + ambil sembako"))],
        default="check",
    )
    distribution = SelectField(_l("Penyaluran yang dilayani"), coerce=int, choices=[], validate_choice=False)
    slip_paper = RadioField(
        _l("Slip untuk setiap paket yang diambil"),
        choices=[SelectChoice("", _l("Tidak mencetak slip")), SelectChoice("58", _l("Printer struk 58 mm")),
                 SelectChoice("80", _l("Printer struk 80 mm"))],
        default="",
    )

    def validate_distribution(self, field):
        if self.mode.data != "collect":
            return
        if not field.data or db.session.get(Distribution, field.data) is None:
            raise ValidationError(_l("Pilih penyaluran untuk kios ambil sembako."))


class ActionForm(FlaskForm):
    """A button that only needs its CSRF token."""


class RevokeForm(FlaskForm):
    """*Cabut*: revoking stops a kiosk in the hall at once, so the admin's own password is asked."""

    admin_password = admin_password_field("device.revoke", "revoke-admin-password")


def _distribution_choices(current: int | None = None) -> list[SelectChoice]:
    """Distributions a device can serve (not closed; and the one it serves now)."""
    rows = db.session.scalars(
        select(Distribution).where((Distribution.status != "closed") | (Distribution.id == (current or 0)))
        .order_by(Distribution.day.desc())
    )
    # SelectChoice, not tuples: tuple choices are deprecated in WTForms 3.3.
    return [SelectChoice(0, _l("— pilih penyaluran —"))] + [
        SelectChoice(d.id, f"{d.name} ({d.place})" if d.place else d.name) for d in rows
    ]


def pairing_qr(url: str) -> str:
    """A data: URL of a PNG QR code holding the pairing URL (scanned by the kiosk's camera)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pairing_page(device: Device, code: str):
    url = url_for("terminal.pair_form", kode=code, _external=True)
    return render_template(
        "admin/devices_pairing.html", device=device, code=pairing.format_pairing_code(code),
        qr=pairing_qr(url), url=url, minutes=pairing.PAIRING_MINUTES,
    )


@bp.get("/perangkat")
@admin_required
def devices():
    """Every kiosk device: mode, distribution, paired or not, last seen, revoked."""
    return render_template("admin/devices.html", devices=pairing.devices(), action=ActionForm(formdata=None))


@bp.route("/perangkat/baru", methods=["GET", "POST"])
@admin_required
def device_new():
    """Add a kiosk device; its pairing code and QR are shown once, on the answer page."""
    form = DeviceForm()
    form.distribution.choices = _distribution_choices()
    if form.validate_on_submit():
        device, code = pairing.add_device(*_task_of(form), staff=current_user, slip_paper=form.slip_paper.data or None)
        return _pairing_page(device, code)
    return render_template("admin/devices_new.html", form=form, device=None), (422 if form.errors else 200)


def _task_of(form: DeviceForm) -> tuple:
    distribution = db.session.get(Distribution, form.distribution.data) if form.mode.data == "collect" else None
    return form.name.data, form.mode.data, distribution


@bp.route("/perangkat/<int:device_id>/ubah", methods=["GET", "POST"])
@admin_required
def device_edit(device_id: int):
    """Rename a device or change its task, distribution or slip printer without pairing it
    again; its kiosk takes the change within seconds."""
    device = db.get_or_404(Device, device_id)
    if device.revoked_at is not None:
        flash(_l("Perangkat ini sudah dicabut; tambahkan perangkat baru."), "error")
        return redirect(url_for("admin.devices"))
    form = DeviceForm(data={"name": device.name, "mode": device.mode,
                            "distribution": device.distribution_id or 0, "slip_paper": device.slip_paper or ""})
    form.distribution.choices = _distribution_choices(device.distribution_id)
    if form.validate_on_submit():
        pairing.update_device(device, *_task_of(form), staff=current_user, slip_paper=form.slip_paper.data or None)
        flash(_l("Perangkat %(name)s diubah. Layar kiosnya ikut berubah dalam beberapa detik.", name=device.name), "success")
        return redirect(url_for("admin.devices"))
    return render_template("admin/devices_new.html", form=form, device=device), (422 if form.errors else 200)


@bp.post("/perangkat/<int:device_id>/kode")
@admin_required
def device_code(device_id: int):
    """A new one-time pairing code for a device (re-pair a kiosk whose browser was reset)."""
    device = db.get_or_404(Device, device_id)
    if not ActionForm().validate_on_submit() or device.revoked_at is not None:
        flash(_l("Perangkat ini sudah dicabut; tambahkan perangkat baru."), "error")
        return redirect(url_for("admin.devices"))
    code = pairing.renew_pairing_code(device, staff=current_user)
    return _pairing_page(device, code)


@bp.post("/perangkat/<int:device_id>/cabut")
@admin_required
def device_revoke(device_id: int):
    """Revoke a device (with the admin's own password): the kiosk goes back to the pairing screen
    at once."""
    device = db.get_or_404(Device, device_id)
    form = RevokeForm()
    if form.validate_on_submit():
        pairing.revoke(device, staff=current_user)
        flash(_l("Perangkat %(name)s dicabut.", name=device.name), "success")
    else:
        for error in form.admin_password.errors:
            flash(error, "error")
    return redirect(url_for("admin.devices"))
