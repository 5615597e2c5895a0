"""The admin page *Pengaturan*: the settings an admin changes day to day (``kiosk.settings``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TextAreaField

from .. import settings as office_settings
from ..auth import admin_required
from ..i18n import _l
from . import bp


class SettingsForm(FlaskForm):
    office_name = StringField(_l("Nama kantor"))
    regency_name = StringField(_l("Pemerintah daerah"))
    office_address = TextAreaField(_l("Alamat kantor"))
    help_desk = StringField(_l("Meja bantuan (Bahasa Indonesia)"))
    help_desk_en = StringField(_l("Meja bantuan (English)"))
    result_seconds = StringField(_l("Lama jawaban tampil di kios (detik)"))
    exit_pin = PasswordField(_l("PIN keluar kios"))
    exit_pin_clear = BooleanField(_l("Tutup pintu keluar kios (hapus PIN)"))
    base_income = StringField(_l("Penghasilan dasar"))


def _page(form: SettingsForm, status: int = 200):
    return render_template("admin/settings.html", form=form,
                           pin_set=bool(office_settings.get("exit_pin"))), status


@bp.get("/pengaturan")
@admin_required
def settings():
    """The office's name and address for documents, the kiosk's help desk, answer time and exit PIN,
    the base income of imported rows without one."""
    from ..rupiah import format_rupiah

    values = {name: office_settings.get(name) for name in office_settings.FIELDS if name != "exit_pin"}
    values["base_income"] = format_rupiah(values["base_income"])
    return _page(SettingsForm(formdata=None, data=values))


@bp.post("/pengaturan")
@admin_required
def settings_save():
    """Save the settings that changed (every server process uses them within seconds)."""
    form = SettingsForm()
    if not form.validate_on_submit():
        flash(_l("Permintaan tidak sah. Muat ulang halaman lalu coba lagi."), "error")
        return _page(form, 422)
    values, errors = office_settings.clean(form.data)
    if errors:
        for name, message in errors.items():
            getattr(form, name).errors = [message]
        return _page(form, 422)
    changed = office_settings.save(values, staff=current_user)
    flash(_l("Pengaturan disimpan.") if changed else _l("Tidak ada yang berubah."), "success")
    return redirect(url_for("admin.settings"))
