"""What a check or a write of enrollment answers: ``Validation`` (clean values, errors and
warnings per field) and ``Refused`` (a write refused as a whole)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models import Worker


@dataclass
class Validation:
    """The outcome of a check: ``clean`` values ready for ``enroll``/``update``, and per-field
    ``errors`` (refusals) and ``warnings`` (accepted, but worth a second look)."""

    clean: dict = field(default_factory=dict)
    errors: dict[str, list] = field(default_factory=dict)
    warnings: dict[str, list] = field(default_factory=dict)
    # The worker already enrolled with this NIK (the form links to them).
    duplicate: Worker | None = None
    # Fields that the NIK contradicts (birth date, sex): the form must not call them right,
    # whatever they say on their own. Field -> message; the refusal itself is on the NIK.
    conflicts: dict[str, Any] = field(default_factory=dict)
    # Enrolled workers that are probably the same person (``kiosk.duplicates``), form only.
    probable: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not self.errors

    def error(self, name: str, message) -> None:
        self.errors.setdefault(name, []).append(message)

    def warn(self, name: str, message) -> None:
        self.warnings.setdefault(name, []).append(message)


class Refused(Exception):
    """A write that was refused as a whole; nothing was written. ``errors`` maps a field name
    (or ``"__all__"``) to messages, as in ``Validation``."""

    def __init__(self, message, errors: dict[str, list] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {"__all__": [message]}
