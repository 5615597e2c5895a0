"""Sign-in and account forms (Flask-WTF: CSRF included)."""

from ..i18n import _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

USERNAME = Regexp(r"^[a-z0-9._-]+$", message=_l("Hanya huruf kecil, angka, titik, garis bawah atau tanda minus."))


class LoginForm(FlaskForm):
    username = StringField(_l("Nama pengguna"), validators=[DataRequired(_l("Isi nama pengguna."))])
    password = PasswordField(_l("Kata sandi"), validators=[DataRequired(_l("Isi kata sandi."))])


class NewPasswordMixin:
    """A new password typed twice."""

    password = PasswordField(
        _l("Kata sandi"),
        validators=[
            DataRequired(_l("Isi kata sandi.")),
            # The rule itself (length, common and context passwords) is kiosk.staff.password_problem,
            # applied where the password is set.
            Length(max=200, message=_l("Kata sandi paling banyak 200 karakter.")),
        ],
    )
    confirm = PasswordField(
        _l("Ulangi kata sandi"),
        validators=[EqualTo("password", message=_l("Kedua kata sandi tidak sama."))],
    )


class SetupForm(NewPasswordMixin, FlaskForm):
    code = StringField(_l("Kode penyiapan (lihat layar server)"), validators=[DataRequired(_l("Isi kode penyiapan."))])
    username = StringField(
        _l("Nama pengguna admin"),
        validators=[DataRequired(_l("Isi nama pengguna.")), Length(max=64), USERNAME],
        filters=[lambda v: v.strip().lower() if v else v],
    )
    full_name = StringField(_l("Nama lengkap"), validators=[DataRequired(_l("Isi nama lengkap.")), Length(max=120)])


class StaffForm(NewPasswordMixin, FlaskForm):
    username = StringField(
        _l("Nama pengguna"),
        validators=[DataRequired(_l("Isi nama pengguna.")), Length(max=64), USERNAME],
        filters=[lambda v: v.strip().lower() if v else v],
    )
    full_name = StringField(_l("Nama lengkap"), validators=[DataRequired(_l("Isi nama lengkap.")), Length(max=120)])
    role = SelectField(_l("Peran"), choices=[SelectChoice("petugas", _l("Petugas")), SelectChoice("admin", _l("Admin"))])
