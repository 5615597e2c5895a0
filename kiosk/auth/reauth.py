"""Re-authentication for the dangerous admin actions: changing a role, deactivating or
reactivating an account, setting someone's password, revoking a kiosk device.

Defence in depth against a request forged *from the admin's own browser* (markup injected into
a page would send the page's CSRF header with it; issue #12): the form of each of these actions
carries the admin's own password, checked on the server in that same request. Without it, or
with a wrong one, nothing changes.

A wrong password is audited (``staff.reauth_failed``). So that injected markup cannot use the
confirmation field to guess the password, the failures are counted in the database (every server
process sees them): at ``REAUTH_FAILURES_MAX`` within ``REAUTH_WINDOW`` (and since the last
sign-in) the admin's sessions end everywhere and they must sign in again, where the sign-in
limits apply.
"""

from __future__ import annotations

from datetime import timedelta

from flask_login import current_user
from sqlalchemy import func, select
from wtforms import PasswordField
from wtforms.validators import DataRequired, StopValidation

from ..audit import record
from ..database import utcnow, write_transaction
from ..extensions import db
from ..i18n import _l
from ..models import AuditEvent, Staff

REAUTH_FAILURES_MAX = 5
REAUTH_WINDOW = timedelta(minutes=15)
FAILED = "staff.reauth_failed"


def recent_failures(staff: Staff) -> int:
    """Wrong confirmations by ``staff`` within the window and since their last sign-in (from the
    audit trail)."""
    since = utcnow() - REAUTH_WINDOW
    if staff.last_login_at is not None and staff.last_login_at > since:
        since = staff.last_login_at
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == FAILED, AuditEvent.staff_id == staff.id, AuditEvent.at >= since
        )
    ) or 0


def confirm_password(staff: Staff, password: str | None, action: str) -> bool:
    """True when ``password`` is ``staff``'s own password. A wrong or missing one is audited
    (``action`` names what was refused); the one that reaches the limit ends every session of
    ``staff``."""
    if password and staff.active and staff.check_password(password):
        return True
    with write_transaction():
        record(FAILED, staff, after={"action": action}, staff=staff)
        if recent_failures(staff) >= REAUTH_FAILURES_MAX:
            staff.session_version = (staff.session_version or 0) + 1
    return False


class AdminPasswordCheck:
    """WTForms validator: the field holds the signed-in staff member's own password."""

    def __init__(self, action: str):
        self.action = action

    def __call__(self, form, field):
        if not confirm_password(current_user._get_current_object(), field.data, self.action):
            field.data = ""
            raise StopValidation(_l("Kata sandi Anda salah. Tidak ada yang diubah."))


def admin_password_field(action: str, field_id: str) -> PasswordField:
    """The *Kata sandi Anda* field of a dangerous action's form (``field_id``: its HTML id, as
    several such forms share a page). The field's name is always ``admin_password``."""
    return PasswordField(
        _l("Kata sandi Anda (untuk konfirmasi)"),
        id=field_id,
        validators=[DataRequired(_l("Ketik kata sandi Anda sendiri untuk mengonfirmasi.")), AdminPasswordCheck(action)],
    )
