"""Enrolling workers (BPU) and recording their coverage periods.

One validation, ``validate_worker``, serves the enroll/edit form (live and on submit) and the
CSV/XLSX import; the write functions (``enroll``, ``update``, ``delete``, ``set_photo``,
``add_coverage``, ``renew``, ``renew_many``) each own their transaction and write the audit
trail inside it, so a change and its audit event land together or not at all. For many rows in
one transaction (the import), call ``insert_worker`` / ``apply_update`` inside your own
``with write_transaction():`` — they flush and audit but never commit.

What lives where: ``validation`` (checking a worker's data and a period's), ``results`` (what
checks and writes answer), ``places`` (kecamatan and desa as people write them), ``workers``
(writing a worker), ``periods`` (writing coverage periods, renewals).

Typical use::

    check = validate_worker(row)                 # .clean / .errors / .warnings / .duplicate
    if check.ok:
        worker = enroll(check.clean, staff=staff,
                        coverage=validate_coverage({"start": "2026-12-01"}).clean)

Input keys understood by ``validate_worker`` (all values strings, as a form or a spreadsheet
cell gives them; ``birth_date`` may also be a ``date``/``datetime``, ``income`` an ``int``):

    nik, name, sex ("L"/"P", also "Laki-laki"/"Perempuan"), birth_place, birth_date
    ("YYYY-MM-DD", "DD-MM-YYYY" or "DD/MM/YYYY"), address, kecamatan (code "160301",
    "16.03.01" or the name), desa (code or name, within that kecamatan), occupation (one of
    ``OCCUPATIONS``, "lainnya" + ``occupation_other``, or any other text), phone, kpj, income
    ("Rp1.500.000", "1500000"), photo (a stored photo name, see ``kiosk.photos``).

Missing keys are treated as empty. Domain words (NIK, KPJ, kecamatan, desa) as in the glossary.
"""

from .periods import (
    RenewalRow,
    add_coverage,
    insert_coverage,
    latest_coverage,
    new_period,
    renew,
    renew_many,
    renewal_preview,
    renewal_start,
)
from .places import find_desa, find_kecamatan
from .validation import (
    COVERAGE_FIELDS,
    DATE_FORMATS,
    DEFAULT_FUNDER,
    OCCUPATIONS,
    OTHER_OCCUPATION,
    WORKER_FIELDS,
    parse_date,
    validate_coverage,
    validate_worker,
)
from .results import Refused, Validation
from .workers import apply_update, blockers, delete, enroll, insert_worker, new_worker, set_photo, update

__all__ = [
    "COVERAGE_FIELDS", "DATE_FORMATS", "DEFAULT_FUNDER", "OCCUPATIONS", "OTHER_OCCUPATION", "WORKER_FIELDS",
    "Refused", "RenewalRow", "Validation",
    "add_coverage", "apply_update", "blockers", "delete", "enroll", "find_desa", "find_kecamatan",
    "insert_coverage", "insert_worker", "latest_coverage", "new_period", "new_worker",
    "parse_date", "renew", "renew_many", "renewal_preview", "renewal_start", "set_photo", "update",
    "validate_coverage", "validate_worker",
]
