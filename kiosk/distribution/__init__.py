"""Sembako distributions (penyaluran): claiming a package, handing it over, voiding a
collection, opening and closing a distribution, its recipient list and the close-out report for
the BAST.

What lives where: ``outcomes`` (the answers), ``eligibility`` (who a distribution admits),
``claiming``, ``handover`` (and voiding), ``lifecycle`` (create, open, close), ``report`` (the
close-out lists and progress figures), ``recipient_list``.

A package has two moments. **Claimed**: AMBIL at a kiosk (or the desk) reserves a package and
gives it its number. **Handed over**: desk staff give it to the person standing there
(``hand_over``). A desk claim for someone at the desk does both at once (``claim(...,
hand_over=True)``). The BAST counts what was handed over.

``claim`` is the one place that creates a ``Collection``. What makes it exactly-once is the
database, not Python:

- the partial unique index ``uq_collection_once_per_worker`` (one non-voided collection per
  worker per distribution) and ``UNIQUE(distribution_id, seq)``;
- a conditional ``UPDATE distribution SET packages_given = packages_given + 1 ... WHERE
  status = 'open' AND packages_given < packages_total RETURNING ...``: zero rows means closed or
  sold out, and the CHECK ``packages_given <= packages_total`` backs it up;
- everything in one write transaction (SQLite: ``BEGIN IMMEDIATE``, writers queue instead of
  failing with "database is locked"; PostgreSQL: the UPDATE takes the distribution's row lock,
  and a concurrent duplicate fails on the unique index with IntegrityError, answered as
  ALREADY_COLLECTED). The claim's statements run straight on the driver
  (``database.driver_write``: the lock is held for them and the commit alone), or inside the
  caller's ``write_transaction()`` when one is open. On PostgreSQL the UPDATE and the three
  INSERTs that record a package (collection, claim request, audit event) are one statement
  (``claiming._TAKE_AND_RECORD``), atomic on its own, so the row lock waits for no round trip.

Each claim carries a request id; its first answer is stored in ``claim_request`` in the same
transaction, so a retry (double tap, slow network) gets that answer again (``replayed``).

``hand_over`` is exactly-once the same way: ``UPDATE collection SET handed_over_at = ... WHERE
id = ... AND handed_over_at IS NULL AND voided_at IS NULL``; zero rows means another desk (or
this one, a moment ago) was first. The handing desk's request id is kept on the row, so its own
retry is answered as the first time. The handover reads the distribution's status ``FOR SHARE``
(PostgreSQL), so it either lands before a close-out (and is in its frozen report) or sees the
distribution closed.
"""

from .claiming import (
    CLAIM_ATTEMPTS,
    REQUEST_ID_MAX,
    Claimant,
    active_collection,
    claim,
    claim_seen,
    judge_pickup,
    pickup_refusal,
    status_for,
)
from .eligibility import eligible_query, judge_rule, not_collected, rule_refusal
from .handover import Handover, HandoverResult, by_number, hand_over, void, waiting
from .lifecycle import (
    EDITABLE_FIELDS,
    TERMS,
    UNHANDED_CHOICES,
    UNHANDED_VOID_REASON,
    TermsLocked,
    UnhandedPackages,
    close_distribution,
    open_distribution,
    save,
    terms_locked,
)
from .outcomes import MESSAGES, ClaimResult, DistributionError, Outcome, PickupStatus
from .recipient_list import ListChange, add_niks_to_list, add_to_list, listed_workers, remove_from_list
from .report import Progress, build_report, collections, progress

__all__ = [
    "CLAIM_ATTEMPTS", "EDITABLE_FIELDS", "MESSAGES", "REQUEST_ID_MAX", "TERMS", "UNHANDED_CHOICES", "UNHANDED_VOID_REASON",
    "ClaimResult", "Claimant", "DistributionError", "Handover", "HandoverResult", "ListChange", "Outcome",
    "PickupStatus", "Progress", "TermsLocked", "UnhandedPackages",
    "active_collection", "add_niks_to_list", "add_to_list", "build_report", "by_number", "claim", "claim_seen",
    "close_distribution", "collections", "eligible_query", "hand_over", "judge_pickup",
    "judge_rule", "listed_workers", "not_collected", "open_distribution", "pickup_refusal", "progress", "remove_from_list",
    "rule_refusal", "save", "status_for", "terms_locked", "void", "waiting",
]
