"""Settings an admin changes day to day, on the admin page *Pengaturan*: the office's name and
address for documents, the kiosk's help desk (in Indonesian and English), how long an answer
stays on the kiosk, the kiosk's staff exit PIN, the base income of an imported row without one.

A changed setting is a row in the ``setting`` table, so every server process (and every server)
sees the same value; a setting without a row has its configured value (``kiosk.config``:
``KIOSK_OFFICE_NAME``, …). Each process keeps the rows it read for ``CACHE_SECONDS``, so the
kiosk's hot paths read no table for them; a change made in one process is seen by the others
within that time (at once by the process that made it).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .audit import record
from .database import utcnow, write_transaction
from .extensions import db
from .i18n import _l
from .models import Setting, Staff

CACHE_SECONDS = 10
_CACHE_KEY = "kiosk.settings"


class SettingError(ValueError):
    """A value the rules refuse; ``message`` says why, in the person's language."""

    def __init__(self, name: str, message):
        super().__init__(str(message))
        self.name = name
        self.message = message


def _text(limit: int, required: bool = False) -> Callable[[str, Any], str]:
    def clean(name: str, raw: Any) -> str:
        value = " ".join(str(raw or "").split())
        if required and not value:
            raise SettingError(name, _l("Isi kolom ini."))
        if len(value) > limit:
            raise SettingError(name, _l("Paling banyak %(n)s huruf.", n=limit))
        return value
    return clean


def _address(name: str, raw: Any) -> str:
    lines = [" ".join(line.split()) for line in str(raw or "").splitlines()]
    value = "\n".join(line for line in lines if line)
    if len(value) > 300:
        raise SettingError(name, _l("Paling banyak %(n)s huruf.", n=300))
    return value


def _seconds(name: str, raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise SettingError(name, _l("Tulis angka detik, misalnya 15.")) from None
    if not 5 <= value <= 120:
        raise SettingError(name, _l("Antara %(low)s dan %(high)s detik.", low=5, high=120))
    return value


def _pin(name: str, raw: Any) -> str | None:
    value = re.sub(r"\s", "", str(raw or ""))
    if not value:
        return None
    if not value.isdigit() or not 4 <= len(value) <= 12:
        raise SettingError(name, _l("PIN berisi 4 sampai 12 angka."))
    return value


def _base_income(name: str, raw: Any) -> int:
    from .coverage import INCOME_FLOOR
    from .rupiah import RupiahError, format_rupiah, parse_rupiah

    try:
        value = int(parse_rupiah(str(raw if raw is not None else "").strip() or "x"))
    except (RupiahError, ValueError):
        raise SettingError(name, _l("Tulis jumlah Rupiah, misalnya Rp1.000.000.")) from None
    if not INCOME_FLOOR <= value <= 1_000_000_000:
        raise SettingError(name, _l("Paling sedikit %(floor)s (batas bawah iuran BPJS).",
                                    floor=format_rupiah(INCOME_FLOOR)))
    return value


@dataclass(frozen=True)
class Field:
    """One editable setting: its configured default (``config`` key) and how a value is cleaned."""

    config: str
    clean: Callable[[str, Any], Any]
    secret: bool = False  # never shown back, never written to the audit trail


FIELDS: dict[str, Field] = {
    "office_name": Field("OFFICE_NAME", _text(120, required=True)),
    "regency_name": Field("REGENCY_NAME", _text(120, required=True)),
    "office_address": Field("OFFICE_ADDRESS", _address),
    "help_desk": Field("HELP_DESK", _text(80, required=True)),
    "help_desk_en": Field("HELP_DESK_EN", _text(80, required=True)),
    "result_seconds": Field("RESULT_SECONDS", _seconds),
    "exit_pin": Field("EXIT_PIN", _pin, secret=True),
    "base_income": Field("BASE_INCOME", _base_income),
}


def _stored() -> dict[str, Any]:
    """The rows of the ``setting`` table, read at most every ``CACHE_SECONDS`` per process."""
    cache = current_app.extensions.get(_CACHE_KEY)
    now = time.monotonic()
    if cache is not None and now - cache[0] < CACHE_SECONDS:
        return cache[1]
    rows = dict(db.session.execute(select(Setting.name, Setting.value)).all())
    current_app.extensions[_CACHE_KEY] = (now, rows)
    return rows


def _for_template(name: str) -> Any:
    try:
        return get(name)
    except SQLAlchemyError:  # an error page while the database is away still gets a title
        return current_app.config.get(FIELDS[name].config)


def init_app(app) -> None:
    """``setting(name)`` in templates (the office's name in every page title)."""
    app.add_template_global(_for_template, "setting")


def forget_cache() -> None:
    """Read the table again on the next ``get`` (after a change, or a restore)."""
    current_app.extensions.pop(_CACHE_KEY, None)


def get(name: str) -> Any:
    """The value of setting ``name``: the admin's, else the configured one."""
    stored = _stored()
    if name in stored:
        return stored[name]
    return current_app.config.get(FIELDS[name].config)


def help_desk(locale: str | None) -> str:
    """Where the kiosk sends a person whose card is refused, in the screen's language."""
    return get("help_desk_en") if locale == "en" else get("help_desk")


def office() -> dict[str, str]:
    """The office as documents print it: ``office``, ``regency``, ``address``."""
    return {"office": get("office_name"), "regency": get("regency_name"), "address": get("office_address") or ""}


def clean(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(clean values, errors by name) for the editable settings present in ``values``. A secret
    left empty keeps its value; ``<name>_clear`` true removes it."""
    found, errors = {}, {}
    for name, field in FIELDS.items():
        if name not in values:
            continue
        raw = values[name]
        if field.secret and not str(raw or "").strip():
            if values.get(f"{name}_clear"):
                found[name] = None
            continue
        try:
            found[name] = field.clean(name, raw)
        except SettingError as error:
            errors[name] = error.message
    return found, errors


def save(values: dict[str, Any], *, staff: Staff | None) -> list[str]:
    """Store the clean ``values`` (from ``clean``) that differ from the current ones; audited
    (a secret's value never is). Returns the names that changed."""
    changed: list[str] = []
    with write_transaction():
        rows = {row.name: row for row in db.session.scalars(select(Setting).where(Setting.name.in_(list(values))))}
        before, after = {}, {}
        for name, value in values.items():
            old = rows[name].value if name in rows else current_app.config.get(FIELDS[name].config)
            if old == value:
                continue
            changed.append(name)
            row = rows.get(name) or Setting(name=name)
            row.value, row.updated_at, row.updated_by_id = value, utcnow(), staff.id if staff else None
            db.session.add(row)
            secret = FIELDS[name].secret
            before[name] = ("set" if old else "none") if secret else old
            after[name] = ("set" if value else "none") if secret else value
        if changed:
            db.session.flush()
            record("settings.update", _Entity(), before=before, after=after, staff=staff)
    forget_cache()
    return changed


class _Entity:
    """The audit trail's record for the settings as a whole."""

    __tablename__ = "setting"
    id = None
