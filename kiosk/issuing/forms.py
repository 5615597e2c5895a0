"""Forms of the card pages (Flask-WTF: CSRF included, except the GET selection form)."""

from __future__ import annotations

from .. import days
from ..i18n import _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..web import MAX_ROW_ID
from .selection import ALL, DISTRIBUTION, ENROLLED, ISSUED, KECAMATAN, Selection

REISSUE_REASONS = [
    SelectChoice("hilang", _l("Hilang")),
    SelectChoice("rusak", _l("Rusak")),
    SelectChoice("lainnya", _l("Lainnya")),
]
# What the card row stores (data, not interface text: it stays as the office wrote it).
_STORED_REASON = {"hilang": "Hilang", "rusak": "Rusak"}


class IssueForm(FlaskForm):
    """Issue the first card for a worker (only the CSRF token)."""


class ReissueForm(FlaskForm):
    """Replace a valid card: why, and an optional note (required for "lainnya")."""

    reason = RadioField(
        _l("Alasan penggantian"),
        choices=REISSUE_REASONS,
        validators=[InputRequired(_l("Pilih alasan penggantian."))],
    )
    detail = StringField(
        _l("Keterangan"),
        validators=[Length(max=150, message=_l("Keterangan paling banyak 150 karakter."))],
        filters=[lambda v: v.strip() if v else ""],
    )

    def validate_detail(self, field) -> None:
        if self.reason.data == "lainnya" and not field.data:
            raise ValidationError(_l("Tulis alasan penggantian."))

    def reason_text(self) -> str:
        """The reason as stored on the revoked card: "Hilang", "Rusak: terendam banjir", or the
        note for "lainnya"."""
        label = _STORED_REASON.get(self.reason.data)
        if label and self.detail.data:
            return f"{label}: {self.detail.data}"
        return label or self.detail.data


class RevokeForm(FlaskForm):
    """Revoke a card without replacing it."""

    reason = StringField(
        _l("Alasan pencabutan"),
        validators=[
            DataRequired(_l("Tulis alasan pencabutan.")),
            Length(max=200, message=_l("Alasan paling banyak 200 karakter.")),
        ],
        filters=[lambda v: v.strip() if v else ""],
    )


class SelectionForm(FlaskForm):
    """Which cards to print (query string of the print page and of the sheet download)."""

    class Meta:
        csrf = False

    pilihan = RadioField(
        _l("Pilih kartu"),
        choices=[
            SelectChoice(ENROLLED, _l("Pekerja yang terdaftar pada tanggal")),
            SelectChoice(ISSUED, _l("Kartu yang diterbitkan pada tanggal")),
            SelectChoice(KECAMATAN, _l("Pekerja di kecamatan")),
            SelectChoice(DISTRIBUTION, _l("Penerima penyaluran")),
            SelectChoice(ALL, _l("Semua kartu yang berlaku")),
        ],
        default=ENROLLED,
        validators=[InputRequired(_l("Pilih kartu yang akan dicetak."))],
    )
    tanggal = days.DayField(_l("Tanggal"), validators=[Optional(), days.InRange()])
    kecamatan = SelectField(_l("Kecamatan"), choices=[], validators=[Optional()])
    penyaluran = IntegerField(_l("Penyaluran"), validators=[Optional(), NumberRange(min=1, max=MAX_ROW_ID)])

    def validate(self, extra_validators=None) -> bool:
        """Validate, then require the parameter the chosen selection needs."""
        ok = super().validate(extra_validators)
        needed = {
            ENROLLED: (self.tanggal, _l("Isi tanggal.")),
            ISSUED: (self.tanggal, _l("Isi tanggal.")),
            KECAMATAN: (self.kecamatan, _l("Pilih kecamatan.")),
            DISTRIBUTION: (self.penyaluran, _l("Pilih penyaluran.")),
        }.get(self.pilihan.data)
        if needed is not None:
            field, message = needed
            if not field.errors and not field.data:
                field.errors = [*field.errors, message]
                self._errors = None  # the form's error summary is cached
                ok = False
        return ok

    def selection(self) -> Selection:
        """The selection this (validated) form names."""
        kind = self.pilihan.data
        return Selection(
            kind,
            day=self.tanggal.data if kind in (ENROLLED, ISSUED) else None,
            kecamatan=self.kecamatan.data if kind == KECAMATAN else None,
            distribution_id=self.penyaluran.data if kind == DISTRIBUTION else None,
        )


class IssueEnrolledForm(FlaskForm):
    """Issue cards now for the workers enrolled on a day who have none."""

    tanggal = days.DayField(_l("Tanggal"), validators=[DataRequired(_l("Isi tanggal.")), days.InRange()])
