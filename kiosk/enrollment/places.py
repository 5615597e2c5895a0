"""Finding the kecamatan and desa people write (codes or names) and checking them for a worker."""

from __future__ import annotations

import re

from .. import wilayah
from ..i18n import _l
from .results import Validation


def _code_digits(raw: str) -> str:
    return re.sub(r"[\s.]", "", raw)


def find_kecamatan(raw: str):
    """The kecamatan a code ("160301", "16.03.01") or a name as people write it surely means
    (see ``wilayah.match_kecamatan``); ``None`` if unknown or ambiguous."""
    if not raw:
        return None
    return wilayah.match_kecamatan(str(raw)).found


def find_desa(kecamatan_code6: str, raw: str):
    """The desa of that kecamatan a code or a name as people write it surely means (see
    ``wilayah.match_desa``); ``None`` if unknown or ambiguous."""
    if not raw or not kecamatan_code6:
        return None
    return wilayah.match_desa(str(raw), _code_digits(kecamatan_code6)).found


def _names(places, *, with_kecamatan: bool = False) -> str:
    if with_kecamatan:
        kecamatan = {k.code: k.name for k in wilayah.kecamatan_list()}
        return ", ".join(f"{p.name} (Kec. {kecamatan.get(p.kecamatan_code, p.kecamatan_code)})" for p in places)
    return ", ".join(p.name for p in places)


def _place_refusal(match: wilayah.Match, unknown, ambiguous, *, with_kecamatan: bool = False):
    """The refusal for a place name that was not read: ambiguous (with the candidates) or
    unknown (with the nearest names, if any)."""
    if match.ambiguous:
        return _l("%(first)s Bisa berarti: %(names)s. Tulis nama lengkapnya.", first=ambiguous,
                  names=_names(match.candidates, with_kecamatan=with_kecamatan))
    if match.suggestions:
        return _l("%(first)s Mungkin maksudnya: %(names)s.", first=unknown,
                  names=_names(match.suggestions, with_kecamatan=with_kecamatan))
    return unknown


def _check_place(v: Validation, kec_raw: str, desa_raw: str) -> None:
    """Kecamatan and desa as people write them: the official names are kept, and a name read
    loosely ("Pasar I" for Pasar I Muara Enim) is said as a warning; unknown or ambiguous names
    are refused with the candidates. A list without a kecamatan column gets the kecamatan of
    its desa when the desa's name exists in one kecamatan only."""
    if not kec_raw:
        if desa_raw:
            anywhere = wilayah.match_desa(desa_raw)
            if anywhere.found is not None:
                desa = anywhere.found
                kec = wilayah.kecamatan_by_code(desa.kecamatan_code)
                v.clean.update(kecamatan_code=kec.code, desa_code=desa.code, desa_name=desa.name)
                v.warn("kecamatan", _l("Kecamatan tidak diisi; menurut desanya: %(kec)s.", kec=kec.name))
                if not anywhere.exact:
                    v.warn("desa", _l("Desa \"%(typed)s\" dibaca sebagai %(name)s.", typed=desa_raw, name=desa.name))
                return
            if anywhere.ambiguous:
                codes = sorted({d.kecamatan_code for d in anywhere.candidates})
                if len(codes) == 1:  # "Pasar": which Pasar is unclear, the kecamatan is not
                    kec_raw = codes[0]
                else:
                    same_name = len({d.name for d in anywhere.candidates}) == 1
                    names = (_names([wilayah.kecamatan_by_code(code) for code in codes]) if same_name
                             else _names(anywhere.candidates, with_kecamatan=True))
                    v.error("kecamatan", _l("Isi kecamatan: ada desa \"%(desa)s\" di beberapa kecamatan: %(names)s.",
                                            desa=desa_raw, names=names))
                    return
            else:
                v.error("kecamatan", _place_refusal(
                    anywhere,
                    _l("Isi kecamatan: desa \"%(desa)s\" tidak ada di Kabupaten Muara Enim.", desa=desa_raw),
                    _l("Isi kecamatan."), with_kecamatan=True))
                return
        if not kec_raw:
            v.error("kecamatan", _l("Pilih kecamatan."))
            return
    match = wilayah.match_kecamatan(kec_raw)
    kec = match.found
    if kec is None:
        v.error("kecamatan", _place_refusal(
            match,
            _l("Kecamatan \"%(name)s\" tidak ada di Kabupaten Muara Enim.", name=kec_raw),
            _l("Kecamatan \"%(name)s\" tidak jelas.", name=kec_raw),
        ))
        return
    if not match.exact:
        v.warn("kecamatan", _l("Kecamatan \"%(typed)s\" dibaca sebagai %(name)s.", typed=kec_raw, name=kec.name))
    v.clean["kecamatan_code"] = kec.code
    if not desa_raw:
        v.error("desa", _l("Pilih desa/kelurahan."))
        return
    match = wilayah.match_desa(desa_raw, kec.code)
    desa = match.found
    if desa is None:
        unknown = _l("Desa \"%(desa)s\" tidak ada di Kecamatan %(kec)s.", desa=desa_raw, kec=kec.name)
        elsewhere = wilayah.match_desa(desa_raw)
        others = [elsewhere.found] if elsewhere.found is not None else list(elsewhere.candidates)
        others = [d for d in others if d.kecamatan_code != kec.code]
        if others and not match.ambiguous:
            v.error("desa", _l("%(first)s Desa itu ada di: %(names)s. Periksa kecamatannya.", first=unknown,
                               names=_names(others, with_kecamatan=True)))
        else:
            v.error("desa", _place_refusal(match, unknown, _l("Desa \"%(desa)s\" tidak jelas.", desa=desa_raw)))
        return
    if not match.exact:
        v.warn("desa", _l("Desa \"%(typed)s\" dibaca sebagai %(name)s.", typed=desa_raw, name=desa.name))
    v.clean["desa_code"] = desa.code
    v.clean["desa_name"] = desa.name


def _check_nik_place(v: Validation, nik_kecamatan: str | None) -> None:
    """A NIK issued in another kecamatan of Muara Enim than the one chosen: a warning (people
    move; the NIK keeps where it was first issued)."""
    chosen = v.clean.get("kecamatan_code")
    if not chosen or not nik_kecamatan or nik_kecamatan == chosen:
        return
    issued = wilayah.kecamatan_by_code(nik_kecamatan)
    if issued is None:  # outside Muara Enim or an old code: the NIK's own warning says so
        return
    v.warn("kecamatan", _l(
        "NIK ini diterbitkan di Kecamatan %(issued)s, sedangkan kecamatan yang dipilih %(chosen)s. Boleh bila "
        "orangnya sudah pindah; pastikan yang dipilih kecamatan tempat tinggalnya sekarang.",
        issued=issued.name, chosen=wilayah.kecamatan_by_code(chosen).name))
