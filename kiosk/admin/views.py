"""Admin pages: the landing page, and staff accounts (add, change role, reset password,
deactivate / reactivate). Admins only.

The write functions below own their transaction and audit event, as every domain write does; the
views parse the form, call one of them and render. Ending someone's sessions is done by raising
``Staff.session_version`` (``kiosk.auth.access.load_staff`` refuses a stale one).
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from ..i18n import _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, SelectChoice, SelectField
from wtforms.validators import AnyOf

from ..audit import record
from ..auth import admin_required
from ..auth.forms import NewPasswordMixin, StaffForm
from ..database import write_transaction
from ..extensions import db
from ..models import ROLES, Staff
from . import bp

STAFF_FIELDS = ("username", "full_name", "role", "active")


class StaffError(ValueError):
    """A staff change the rules refuse; ``str(error)`` is the message for the admin."""


def _snapshot(staff: Staff) -> dict:
    return {name: getattr(staff, name) for name in STAFF_FIELDS}


def _other_active_admins(staff: Staff) -> int:
    # FOR UPDATE: two admins demoting each other at once on PostgreSQL cannot both pass
    # (SQLite's BEGIN IMMEDIATE already serialises writers).
    rows = db.session.scalars(
        select(Staff.id).where(Staff.role == "admin", Staff.active.is_(True), Staff.id != staff.id).with_for_update()
    )
    return len(list(rows))


def create_staff(username: str, full_name: str, role: str, password: str, *, by: Staff | None) -> Staff:
    """Add a staff account; raises ``StaffError`` when the username is taken."""
    username = username.strip().lower()
    if role not in ROLES:
        raise StaffError(_l("Peran tidak dikenal."))
    try:
        with write_transaction():
            if db.session.scalar(select(Staff.id).where(func.lower(Staff.username) == username)):
                raise StaffError(_l("Nama pengguna %(u)s sudah dipakai.", u=username))
            staff = Staff(username=username, full_name=full_name.strip(), role=role, active=True)
            staff.set_password(password)
            db.session.add(staff)
            db.session.flush()
            record("staff.create", staff, after=_snapshot(staff), staff=by)
    except IntegrityError as error:  # a concurrent add of the same name
        raise StaffError(_l("Nama pengguna %(u)s sudah dipakai.", u=username)) from error
    return staff


def change_role(staff: Staff, role: str, *, by: Staff) -> None:
    """Make ``staff`` an admin or a petugas. An admin cannot change their own role, and the last
    active admin stays an admin."""
    if role not in ROLES:
        raise StaffError(_l("Peran tidak dikenal."))
    if staff.id == by.id:
        raise StaffError(_l("Anda tidak bisa mengubah peran akun Anda sendiri."))
    with write_transaction():
        if staff.role == "admin" and role != "admin" and staff.active and not _other_active_admins(staff):
            raise StaffError(_l("Harus ada paling sedikit satu admin aktif."))
        if staff.role == role:
            return
        before = _snapshot(staff)
        staff.role = role
        record("staff.role", staff, before={"role": before["role"]}, after={"role": role}, staff=by)


def reset_password(staff: Staff, password: str, *, by: Staff) -> None:
    """Give ``staff`` a new password; every session of that account ends."""
    with write_transaction():
        staff.set_password(password)  # raises session_version
        record("staff.password_reset", staff, after={"session_version": staff.session_version}, staff=by)


def set_active(staff: Staff, active: bool, *, by: Staff) -> None:
    """Deactivate (ending every session at once) or reactivate a staff account. An admin cannot
    deactivate their own account, nor the last active admin."""
    if not active and staff.id == by.id:
        raise StaffError(_l("Anda tidak bisa menonaktifkan akun Anda sendiri."))
    with write_transaction():
        if not active and staff.role == "admin" and not _other_active_admins(staff):
            raise StaffError(_l("Harus ada paling sedikit satu admin aktif."))
        if bool(staff.active) == active:
            return
        staff.active = active
        staff.session_version = (staff.session_version or 0) + 1
        record("staff.activate" if active else "staff.deactivate", staff,
               before={"active": not active}, after={"active": active}, staff=by)


# SelectChoice, not tuples: tuple choices are deprecated in WTForms 3.3 (a warning, an error in tests).
ROLE_CHOICES = [SelectChoice("petugas", _l("Petugas")), SelectChoice("admin", _l("Admin"))]


class RoleForm(FlaskForm):
    role = SelectField(_l("Peran"), choices=ROLE_CHOICES)


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])


@bp.get("/")
@admin_required
def index():
    """The admin landing page: staff accounts, kiosk devices."""
    has_devices = "admin.devices" in current_app.view_functions
    counts = dict(db.session.execute(select(Staff.active, func.count(Staff.id)).group_by(Staff.active)).all())
    return render_template("admin/index.html", has_devices=has_devices,
                           active_staff=counts.get(True, 0), inactive_staff=counts.get(False, 0))


@bp.get("/petugas")
@admin_required
def staff_list():
    """Every staff account with its role, state and last sign-in."""
    accounts = db.session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.username)).all()
    return render_template("admin/staff.html", accounts=accounts)


@bp.route("/petugas/baru", methods=["GET", "POST"])
@admin_required
def staff_new():
    """Add a staff account (admin or petugas) with a first password."""
    form = StaffForm()
    if form.validate_on_submit():
        try:
            staff = create_staff(form.username.data, form.full_name.data, form.role.data, form.password.data,
                                 by=current_user)
        except StaffError as error:
            form.username.errors.append(str(error))
        else:
            flash(_l("Akun %(u)s dibuat.", u=staff.username), "success")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return render_template("admin/staff_new.html", form=form), (422 if form.errors else 200)


def _edit_page(staff: Staff, role_form=None, password_form=None, status=200):
    role_form = role_form or RoleForm(role=staff.role)
    password_form = password_form or ResetPasswordForm(formdata=None)
    return render_template("admin/staff_edit.html", staff=staff, role_form=role_form,
                           password_form=password_form, active_form=ActiveForm(formdata=None)), status


@bp.get("/petugas/<int:staff_id>")
@admin_required
def staff_edit(staff_id: int):
    """One staff account: change its role, reset its password, deactivate or reactivate it."""
    return _edit_page(db.get_or_404(Staff, staff_id))


@bp.post("/petugas/<int:staff_id>/peran")
@admin_required
def staff_role(staff_id: int):
    """Change a staff member's role."""
    staff = db.get_or_404(Staff, staff_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            change_role(staff, form.role.data, by=current_user)
        except StaffError as error:
            form.role.errors.append(str(error))
        else:
            flash(_l("Peran %(u)s disimpan.", u=staff.username), "success")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return _edit_page(staff, role_form=form, status=422)


@bp.post("/petugas/<int:staff_id>/sandi")
@admin_required
def staff_password(staff_id: int):
    """Set a new password for a staff member (their open sessions end)."""
    staff = db.get_or_404(Staff, staff_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        reset_password(staff, form.password.data, by=current_user)
        if staff.id == current_user.id:
            login_user(staff)  # keep the admin's own session: it now carries the new version
        flash(_l("Kata sandi %(u)s diganti. Sesi yang terbuka dengan akun itu sudah berakhir.", u=staff.username),
              "success")
        return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return _edit_page(staff, password_form=form, status=422)


@bp.post("/petugas/<int:staff_id>/status")
@admin_required
def staff_status(staff_id: int):
    """Deactivate (signing the account out everywhere) or reactivate a staff account."""
    staff = db.get_or_404(Staff, staff_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_l("Permintaan tidak sah. Muat ulang halaman lalu coba lagi."), "error")
        return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    active = form.active.data == "1"
    try:
        set_active(staff, active, by=current_user)
    except StaffError as error:
        flash(str(error), "error")
        return _edit_page(staff, status=422)
    if active:
        flash(_l("Akun %(u)s diaktifkan kembali.", u=staff.username), "success")
    else:
        flash(_l("Akun %(u)s dinonaktifkan dan semua sesinya diakhiri.", u=staff.username), "success")
    return redirect(url_for("admin.staff_edit", staff_id=staff.id))
