"""Downloads of personal data — exports, reports, lists, cards, backups: the one rule and its
audit (issue #12).

**The rule.** A file with *full* NIKs of many people is for admins only: the coverage export,
the audit trail export, a backup, and the worker export *as an admin*. A petugas downloads what
the day's work needs, with NIKs masked (``1603 •••• •••• 0012``): the worker export (NIK masked,
no birth date — the middle of a NIK is the birth date), the recipient and non-recipient lists and
the BAST of a distribution (to print and sign; the name, desa and masked NIK identify a person
at the desk), the cards to print (a card shows the masked NIK), and the refused rows of a list
they uploaded themselves (their own file back, for them only). Full NIKs in bulk would let one
lost tablet or one curious clerk take the whole regency's NIKs, birth dates and phones — what is
needed to open loans or SIM cards in someone's name — and the day's work never needs them.

**Enforced in one place**: every download view carries ``@personal_data(kind, nik=…)``, which
refuses a petugas where the rule says admin (403) and writes one audit event (``data.download``:
who, which download, its filter, its format and how many rows) for every file it lets out.
``tests/test_downloads.py`` walks the URL map: a download route without the decorator fails.
Images shown inside pages (a worker's photo, a card preview) are page content, not downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable, Iterable, Iterator, TypeVar

from flask import abort, g, make_response, request
from flask_login import current_user

from .database import write_transaction
from .extensions import db
from .models import AuditEvent

ACTION = "data.download"
FULL, MASKED, BY_ROLE = "full", "masked", "by_role"
T = TypeVar("T")


@dataclass(frozen=True)
class Download:
    """What a download view lets out: ``kind`` (its name in the audit trail) and its NIKs:
    ``full`` (admins only), ``masked`` (any staff member) or ``by_role`` (full for an admin,
    masked for a petugas: the view asks ``full_nik()``). ``own`` (with ``full``): a staff
    member's own uploaded file back, theirs alone — allowed to a petugas."""

    kind: str
    nik: str
    own: bool = False

    @property
    def admin_only(self) -> bool:
        return self.nik == FULL and not self.own


def full_nik() -> bool:
    """True when the signed-in staff member may see full NIKs in bulk (an admin)."""
    return bool(getattr(current_user, "is_authenticated", False)) and current_user.role == "admin"


def count_rows(rows: Iterable[T]) -> Iterator[T]:
    """``rows``, counted into this download's audit event as they are written."""
    g.download_rows = 0
    for row in rows:
        g.download_rows += 1
        yield row


def note_rows(count: int) -> None:
    """Say how many rows (people, cards) this download holds, for its audit event."""
    g.download_rows = count


def personal_data(kind: str, *, nik: str, own: bool = False) -> Callable:
    """Mark a view as a download of personal data: apply the rule, audit what leaves. Put it
    under the route and access decorators."""
    rule = Download(kind, nik, own)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if rule.admin_only and not full_nik():
                abort(403)
            g.download_rows = None
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200 and response.mimetype != "text/html":
                audit(rule, response)
            return response

        wrapper.personal_data = rule
        return wrapper

    return decorate


def audit(rule: Download, response) -> None:
    """One ``data.download`` event for ``response``: who, which, filter, format, rows."""
    filters = {key: value[:100] for key, value in request.args.items() if value}
    after = {
        "which": rule.kind,
        "path": request.path[:200],
        "filter": filters,
        "format": (request.view_args or {}).get("fmt") or request.args.get("format") or response.mimetype,
        "rows": g.get("download_rows"),
        "nik": "full" if rule.nik == FULL or (rule.nik == BY_ROLE and full_nik()) else "masked",
    }
    entity_id = next((v for k, v in (request.view_args or {}).items() if k.endswith("_id") and isinstance(v, int)), None)
    with write_transaction():
        db.session.add(AuditEvent(action=ACTION, entity_type="download", entity_id=entity_id, after=after,
                                  staff_id=current_user.id))
