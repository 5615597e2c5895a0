"""Distribution forms (Flask-WTF: CSRF included)."""

from __future__ import annotations

from .. import days
from ..i18n import _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DistributionForm(FlaskForm):
    """Create or edit a distribution, with the BAST details."""

    name = StringField(_l("Nama penyaluran"), filters=[_strip], validators=[
        DataRequired(_l("Isi nama penyaluran.")), Length(max=160)])
    day = days.DayField(_l("Tanggal"), validators=[InputRequired(_l("Isi tanggal penyaluran.")), days.InRange()])
    place = StringField(_l("Tempat"), filters=[_strip], validators=[Length(max=160)])
    packages_total = IntegerField(_l("Jumlah paket"), validators=[
        InputRequired(_l("Isi jumlah paket.")),
        NumberRange(min=0, max=100_000, message=_l("Jumlah paket antara 0 dan 100.000.")),
    ])
    contents = TextAreaField(_l("Isi paket"), filters=[_strip], validators=[Length(max=2000)])
    eligibility = RadioField(_l("Yang berhak menerima"), default="coverage", choices=[
        SelectChoice("coverage", _l("Pekerja dengan kepesertaan aktif pada hari penyaluran")),
        SelectChoice("list", _l("Hanya pekerja dalam daftar penerima")),
    ])
    bast_number = StringField(_l("Nomor BAST"), filters=[_strip], validators=[Length(max=120)])
    official_name = StringField(_l("Nama pejabat yang menyerahkan"), filters=[_strip], validators=[Length(max=120)])
    official_nip = StringField(_l("NIP pejabat"), filters=[_strip], validators=[
        Length(max=30), Regexp(r"^[\d ]*$", message=_l("NIP hanya berisi angka."))])
    official_title = StringField(_l("Jabatan pejabat"), filters=[_strip], validators=[Length(max=120)])
    receiver_name = StringField(_l("Nama penerima (perwakilan)"), filters=[_strip], validators=[Length(max=120)])
    receiver_title = StringField(_l("Jabatan/keterangan penerima"), filters=[_strip], validators=[Length(max=120)])
    witness1_name = StringField(_l("Saksi 1"), filters=[_strip], validators=[Length(max=120)])
    witness2_name = StringField(_l("Saksi 2"), filters=[_strip], validators=[Length(max=120)])

    FIELDS = ("name", "day", "place", "packages_total", "contents", "eligibility",
              "bast_number", "official_name", "official_nip", "official_title",
              "receiver_name", "receiver_title", "witness1_name", "witness2_name")

    def values(self) -> dict:
        """The submitted values by column name."""
        return {name: getattr(self, name).data if getattr(self, name).data is not None else ""
                for name in self.FIELDS}


class PasteNiksForm(FlaskForm):
    """Put workers on the list by pasting NIKs, one per line."""

    niks = TextAreaField(_l("Tempel NIK (satu per baris)"), validators=[
        DataRequired(_l("Tempel paling sedikit satu NIK.")), Length(max=200_000)])


class VoidForm(FlaskForm):
    """Void a collection, with the reason."""

    reason = StringField(_l("Alasan pembatalan"), filters=[_strip], validators=[
        DataRequired(_l("Tuliskan alasan pembatalan.")), Length(max=200)])


class ScanForm(FlaskForm):
    """A card scanned (QR token) or its printed code typed at the desk."""

    code = StringField(_l("Pindai kartu atau ketik kode kartu"), filters=[_strip], validators=[
        DataRequired(_l("Pindai kartu atau ketik kodenya.")), Length(max=200)])


class PackageHandoverForm(FlaskForm):
    """Hand over a package claimed earlier (at a kiosk): the request id (hidden, for retries),
    proxy, photo."""

    request_id = HiddenField(validators=[DataRequired(), Length(max=64), Regexp(r"^[A-Za-z0-9_-]+$")])
    proxy_name = StringField(_l("Nama yang mewakili"), filters=[_strip], validators=[Length(max=120)])
    proxy_relation = StringField(_l("Hubungan dengan pekerja"), filters=[_strip], validators=[Length(max=60)])
    handover_photo = FileField(_l("Foto serah terima (boleh dilewati)"))


class HandoverForm(PackageHandoverForm):
    """Claim and hand over in one step for the person at the desk: who (hidden), the card
    scanned (hidden; none: the staff member is the proof, and says why), proxy, photo."""

    worker_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])
    card_id = HiddenField(validators=[Optional(), Regexp(r"^\d+$")])
    no_card_reason = StringField(_l("Tanpa kartu, karena"), filters=[_strip], validators=[Length(max=200)])
