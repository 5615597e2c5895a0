"""Who may do what: loading the signed-in staff member, idle expiry, role decorators."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from ..i18n import _l
from flask_login import current_user, logout_user

from ..extensions import db, htmx, login_manager
from ..models import Staff
from . import bp

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Silakan masuk terlebih dahulu.")
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

SEEN_KEY = "_seen"


@login_manager.user_loader
def load_staff(user_id: str) -> Staff | None:
    """Load the staff member of a session; a stale session version (password changed,
    account deactivated) or an inactive account means signed out."""
    staff_id, _, version = user_id.partition(".")
    if not staff_id.isdigit() or not version.isdigit():
        return None
    staff = db.session.get(Staff, int(staff_id))
    if staff is None or not staff.active or staff.session_version != int(version):
        return None
    return staff


@login_manager.unauthorized_handler
def unauthorized():
    """Send the person to sign in; an htmx request is told to navigate (HX-Redirect)."""
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if htmx:
        return "", 401, {"HX-Redirect": target}
    flash(login_manager.login_message, "info")
    return redirect(target)


@bp.before_app_request
def expire_idle_session():
    """Sign a staff member out after ``IDLE_MINUTES`` without a request (shared tablets). The
    kiosk screens are no staff activity: they neither load the staff member nor keep a staff
    session alive."""
    if request.endpoint == "static" or request.blueprint == "terminal" or not current_user.is_authenticated:
        return
    now = int(time.time())
    seen = session.get(SEEN_KEY)
    if seen is not None and now - int(seen) > current_app.config["IDLE_MINUTES"] * 60:
        logout_user()
        session.clear()
        g.session_expired = True
        flash(_l("Sesi Anda berakhir karena lama tidak digunakan. Silakan masuk lagi."), "info")
        return
    # A panel refreshing itself (hx-headers X-Background-Refresh) is not a person using the
    # tablet: it must not keep a forgotten session alive.
    if request.headers.get("X-Background-Refresh") != "1" or seen is None:
        session[SEEN_KEY] = now


def staff_required(view):
    """Only signed-in, active staff members (any role)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return wrapped


def role_required(*roles: str):
    """Only signed-in staff whose role is one of ``roles``; others get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required("admin")
