"""Admin pages: the landing page, and staff accounts (add, change role, reset password,
deactivate / reactivate). Admins only. The accounts themselves are ``kiosk.staff``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from ..i18n import _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import HiddenField, SelectChoice, SelectField
from wtforms.validators import AnyOf

from .. import staff as accounts
from ..auth import admin_required
from ..auth.forms import NewPasswordMixin, StaffForm
from ..auth.reauth import admin_password_field
from ..extensions import db
from ..models import Staff
from . import bp

# SelectChoice, not tuples: tuple choices are deprecated in WTForms 3.3 (a warning, an error in tests).
ROLE_CHOICES = [SelectChoice("petugas", _l("Petugas")), SelectChoice("admin", _l("Admin"))]


# Each form of a dangerous action carries the admin's own password (kiosk.auth.reauth).
class RoleForm(FlaskForm):
    role = SelectField(_l("Peran"), choices=ROLE_CHOICES)
    admin_password = admin_password_field("staff.role", "role-admin-password")


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    admin_password = admin_password_field("staff.password_reset", "password-admin-password")


class NewStaffForm(StaffForm):
    # A new account can be an admin: the same weight as making someone one.
    admin_password = admin_password_field("staff.create", "new-admin-password")


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])
    admin_password = admin_password_field("staff.active", "active-admin-password")


@bp.get("/")
@admin_required
def index():
    """The admin landing page: staff accounts, kiosk devices."""
    counts = dict(db.session.execute(select(Staff.active, func.count(Staff.id)).group_by(Staff.active)).all())
    return render_template("admin/index.html", active_staff=counts.get(True, 0), inactive_staff=counts.get(False, 0))


@bp.get("/petugas")
@admin_required
def staff_list():
    """Every staff account with its role, state and last sign-in."""
    accounts = db.session.scalars(select(Staff).order_by(Staff.active.desc(), Staff.username)).all()
    return render_template("admin/staff.html", accounts=accounts)


@bp.route("/petugas/baru", methods=["GET", "POST"])
@admin_required
def staff_new():
    """Add a staff account (admin or petugas) with a first password (with the admin's own
    password)."""
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            staff = accounts.create(form.username.data, form.full_name.data, form.role.data, form.password.data,
                                    by=current_user)
        except accounts.StaffError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(_l("Akun %(u)s dibuat.", u=staff.username), "success")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return render_template("admin/staff_new.html", form=form), (422 if form.errors else 200)


def _edit_page(staff: Staff, role_form=None, password_form=None, active_form=None, status=200):
    role_form = role_form or RoleForm(formdata=None, role=staff.role)
    password_form = password_form or ResetPasswordForm(formdata=None)
    active_form = active_form or ActiveForm(formdata=None)
    return render_template("admin/staff_edit.html", staff=staff, role_form=role_form,
                           password_form=password_form, active_form=active_form), status


@bp.get("/petugas/<int:staff_id>")
@admin_required
def staff_edit(staff_id: int):
    """One staff account: change its role, reset its password, deactivate or reactivate it."""
    return _edit_page(db.get_or_404(Staff, staff_id))


@bp.post("/petugas/<int:staff_id>/peran")
@admin_required
def staff_role(staff_id: int):
    """Change a staff member's role (with the admin's own password)."""
    staff = db.get_or_404(Staff, staff_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            accounts.set_role(staff, form.role.data, by=current_user)
        except accounts.StaffError as error:
            form.role.errors.append(str(error))
        else:
            flash(_l("Peran %(u)s disimpan.", u=staff.username), "success")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return _edit_page(staff, role_form=form, status=422)


@bp.post("/petugas/<int:staff_id>/sandi")
@admin_required
def staff_password(staff_id: int):
    """Set a new password for a staff member (their open sessions end; with the admin's own
    password)."""
    staff = db.get_or_404(Staff, staff_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(staff, form.password.data, by=current_user)
        except accounts.StaffError as error:
            form.password.errors.append(str(error))
            return _edit_page(staff, password_form=form, status=422)
        if staff.id == current_user.id:
            login_user(staff)  # keep the admin's own session: it now carries the new version
        flash(_l("Kata sandi %(u)s diganti. Sesi yang terbuka dengan akun itu sudah berakhir.", u=staff.username),
              "success")
        return redirect(url_for("admin.staff_edit", staff_id=staff.id))
    return _edit_page(staff, password_form=form, status=422)


@bp.post("/petugas/<int:staff_id>/status")
@admin_required
def staff_status(staff_id: int):
    """Deactivate (signing the account out everywhere) or reactivate a staff account (with the
    admin's own password)."""
    staff = db.get_or_404(Staff, staff_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        if not form.admin_password.errors:
            flash(_l("Permintaan tidak sah. Muat ulang halaman lalu coba lagi."), "error")
            return redirect(url_for("admin.staff_edit", staff_id=staff.id))
        return _edit_page(staff, active_form=form, status=422)
    active = form.active.data == "1"
    try:
        accounts.set_active(staff, active, by=current_user)
    except accounts.StaffError as error:
        flash(str(error), "error")
        return _edit_page(staff, status=422)
    if active:
        flash(_l("Akun %(u)s diaktifkan kembali.", u=staff.username), "success")
    else:
        flash(_l("Akun %(u)s dinonaktifkan dan semua sesinya diakhiri.", u=staff.username), "success")
    return redirect(url_for("admin.staff_edit", staff_id=staff.id))
