"""The card token carried by a card's QR code, the keys that sign it, and the fallback code.

Token (format version 1), 26 characters of upper-case RFC 4648 base32 so the QR code uses
alphanumeric mode (version 2 at error correction Q)::

    K  A  <24 base32 chars = 15 bytes: card id (5 bytes, big-endian) || MAC (10 bytes)>
    |  '-- key id: one base32 character, so 32 key slots ("A".."Z", "2".."7")
    '----- format version letter ("K" = version 1)

    MAC = HMAC-SHA256(key, b"K" + key id + card id bytes)[:10]

The token holds no personal data: the card id is looked up in the database. 15 bytes are exactly
24 base32 characters, so there is no padding and every token has a single spelling.

Reading rules: surrounding whitespace (a USB scanner's CR/LF) is ignored; anything else must be
exact. A lower-case token is refused as malformed, because scanners do not change case: a
lower-cased token comes from a person or a program retyping it, not from a printed card.

Fallback code: printed under the QR code for when the code is damaged, typed on the kiosk's number
pad. Digits only (workers who read little handle digits far better than letters): 10 random digits
and one Verhoeff check digit, which catches every single wrong digit and every swap of two
neighbouring digits. Shown as ``1234 5678 901``.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from .i18n import _l

log = logging.getLogger(__name__)

VERSION = "K"
TOKEN_LENGTH = 26
CARD_ID_BYTES = 5
MAC_BYTES = 10
MAX_CARD_ID = 2 ** (8 * CARD_ID_BYTES) - 1
KEY_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32 = frozenset(KEY_IDS)
# Longer than any token plus the whitespace a scanner may add; longer input is refused before any
# other work, so a pasted novel costs nothing.
_MAX_RAW = 64
_SCANNER_WHITESPACE = " \t\r\n"
_KEY_BYTES = 32
_STATE_FILE = "ring.json"


class Refusal(enum.Enum):
    """Why a card is refused. The first five are decided from the token alone (``read``); the
    last two by the caller, with the database, after a token has read ``ok``."""

    MALFORMED = "malformed"
    WRONG_VERSION = "wrong_version"
    UNKNOWN_KEY = "unknown_key"
    RETIRED_KEY = "retired_key"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_CARD = "unknown_card"
    REVOKED = "revoked"

    @property
    def message(self):
        """A short Indonesian message for the person holding the card (lazy, translatable)."""
        return _REFUSAL_MESSAGES[self]


_REFUSAL_MESSAGES = {
    Refusal.MALFORMED: _l("Kartu tidak terbaca. Coba lagi atau tanya petugas."),
    Refusal.WRONG_VERSION: _l("Ini bukan kartu peserta BPU. Tanya petugas."),
    Refusal.UNKNOWN_KEY: _l("Kartu tidak sah. Tanya petugas."),
    Refusal.RETIRED_KEY: _l("Kartu ini sudah tidak berlaku. Minta kartu baru ke petugas."),
    Refusal.BAD_SIGNATURE: _l("Kartu tidak sah. Tanya petugas."),
    Refusal.UNKNOWN_CARD: _l("Kartu tidak terdaftar. Tanya petugas."),
    Refusal.REVOKED: _l("Kartu ini sudah tidak berlaku. Minta kartu baru ke petugas."),
}


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of reading a token.

    ``card_id`` is set only when the signature verified: when ``ok``, and for ``RETIRED_KEY``
    (a genuine card signed with a key taken out of use, so the desk can find whose card it is).
    ``key_id`` is set whenever the token was well formed enough to name one.
    """

    ok: bool
    card_id: int | None = None
    key_id: str | None = None
    reason: Refusal | None = None


class KeyRingError(Exception):
    """The key directory is unusable (bad file, no free key slot, unknown key id)."""


class KeyRing:
    """The signing keys, kept in one directory (default ``instance/card-keys/``).

    One file per key, ``<key id>.key``, mode 0600, holding 32 random bytes as hex, and
    ``ring.json`` naming the current key and the retired ones. A retired key's file stays, so its
    tokens still verify and are refused as ``RETIRED_KEY`` rather than as forgeries. The ring
    notices a rotation or retirement made by another process (the CLI, another gunicorn worker):
    it re-reads its directory whenever ``ring.json`` changes. Key material never appears in
    ``repr``/``str`` or in logs.
    """

    def __init__(self, path: str | os.PathLike[str]):
        """Open an existing ring; use ``load_or_create`` to make one on first run."""
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys: dict[str, bytes] = {}
        self._current = ""
        self._retired: frozenset[str] = frozenset()
        self._load()

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str] = "instance/card-keys") -> KeyRing:
        """Open the ring in ``path``, first creating the directory and key ``A`` if it has none."""
        path = Path(path)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (path / _STATE_FILE).exists():
            _create_key_file(path, KEY_IDS[0])  # no-op if another process won the race
            _link_new(path / _STATE_FILE, _state_bytes(KEY_IDS[0], ()))
            log.info("card key ring created in %s with key %s", path, KEY_IDS[0])
        return cls(path)

    @property
    def current_id(self) -> str:
        """The key id new tokens are signed with."""
        self._refresh()
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id in the ring, retired ones included, in slot order."""
        self._refresh()
        return tuple(k for k in KEY_IDS if k in self._keys)

    @property
    def retired_ids(self) -> frozenset[str]:
        """The key ids whose tokens are refused as ``RETIRED_KEY``."""
        self._refresh()
        return self._retired

    def rotate(self) -> str:
        """Make a new key the current one and return its id; older keys still verify."""
        with self._lock:
            self._load()
            for key_id in KEY_IDS:
                if key_id not in self._keys and _create_key_file(self.path, key_id):
                    break
            else:
                raise KeyRingError("all 32 card key slots are used")
            self._write_state(key_id, self._retired)
            self._load()
        log.info("card key rotated: current key is now %s", key_id)
        return key_id

    def retire(self, key_id: str) -> None:
        """Refuse tokens signed with ``key_id`` from now on; the current key cannot be retired."""
        with self._lock:
            self._load()
            if key_id not in self._keys:
                raise KeyRingError(f"no card key {key_id!r}")
            if key_id == self._current:
                raise KeyRingError("the current card key cannot be retired; rotate first")
            self._write_state(self._current, self._retired | {key_id})
            self._load()
        log.info("card key %s retired", key_id)

    def _key(self, key_id: str) -> bytes | None:
        self._refresh()
        return self._keys.get(key_id)

    def _is_retired(self, key_id: str) -> bool:
        return key_id in self._retired

    def _refresh(self) -> None:
        # A scan must never fail because of a key-directory hiccup: on any trouble keep the
        # keys already loaded (and say so once per change of the state file).
        try:
            stamp = _stamp(self.path / _STATE_FILE)
        except OSError:
            return
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                self._load()
            except KeyRingError as exc:
                self._stamp = stamp
                log.error("card key ring not reloaded, keeping the loaded keys: %s", exc)

    def _load(self) -> None:
        state_path = self.path / _STATE_FILE
        try:
            stamp = _stamp(state_path)
            state = json.loads(state_path.read_bytes())
            current = state["current"]
            retired = frozenset(state.get("retired", ()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"cannot read {state_path}: {exc.__class__.__name__}") from None
        keys = {}
        for key_id in KEY_IDS:
            key_path = self.path / f"{key_id}.key"
            try:
                text = key_path.read_text("ascii").strip()
            except FileNotFoundError:
                continue
            except (OSError, UnicodeError):
                raise KeyRingError(f"cannot read {key_path}") from None
            try:
                key = bytes.fromhex(text)
            except ValueError:
                key = b""
            if len(key) != _KEY_BYTES:
                raise KeyRingError(f"{key_path} does not hold a {_KEY_BYTES}-byte hex key")
            keys[key_id] = key
        if current not in keys:
            raise KeyRingError(f"current card key {current!r} has no key file in {self.path}")
        self._keys, self._current, self._retired = keys, current, retired & keys.keys()
        self._stamp = stamp

    def _write_state(self, current: str, retired: frozenset[str] | set[str]) -> None:
        tmp = self.path / f".{_STATE_FILE}.{secrets.token_hex(4)}.tmp"
        _write_private(tmp, _state_bytes(current, retired))
        os.replace(tmp, self.path / _STATE_FILE)

    def __repr__(self) -> str:
        return (
            f"KeyRing(path={str(self.path)!r}, current={self._current!r}, "
            f"keys={''.join(k for k in KEY_IDS if k in self._keys)!r}, "
            f"retired={''.join(sorted(self._retired))!r})"
        )

    __str__ = __repr__

    def __reduce__(self):
        # Pickling would copy the keys into caches, queues or logs; rebuild from the path instead.
        return (KeyRing, (str(self.path),))


def _stamp(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _state_bytes(current: str, retired) -> bytes:
    return json.dumps({"current": current, "retired": sorted(retired)}).encode() + b"\n"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_new(path: Path, data: bytes) -> bool:
    """Write ``path`` whole, only if it does not exist yet (atomic: write aside, then link)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_private(tmp, data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def _create_key_file(path: Path, key_id: str) -> bool:
    return _link_new(path / f"{key_id}.key", secrets.token_bytes(_KEY_BYTES).hex().encode() + b"\n")


def _mac(key: bytes, key_id: str, card_bytes: bytes) -> bytes:
    message = (VERSION + key_id).encode("ascii") + card_bytes
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def sign(card_id: int, ring: KeyRing, key_id: str | None = None) -> str:
    """The token for ``card_id`` (0 .. 2**40-1), signed with the ring's current key, or with
    ``key_id`` to reproduce a card printed earlier (a retired key still signs: the token it
    gives is refused as ``RETIRED_KEY``, just like the printed card)."""
    if isinstance(card_id, bool) or not isinstance(card_id, int):
        raise TypeError("card_id must be an int")
    if not 0 <= card_id <= MAX_CARD_ID:
        raise ValueError(f"card_id out of range 0..{MAX_CARD_ID}")
    key_id = ring.current_id if key_id is None else key_id
    key = ring._key(key_id)
    if key is None:
        raise KeyRingError(f"no card key {key_id!r}")
    card_bytes = card_id.to_bytes(CARD_ID_BYTES, "big")
    body = base64.b32encode(card_bytes + _mac(key, key_id, card_bytes)).decode("ascii")
    return VERSION + key_id + body


def read(raw: str, ring: KeyRing) -> TokenCheck:
    """Check a scanned token; never raises. ``ok`` means genuine, not that the card is valid:
    the caller still looks the card up and refuses ``UNKNOWN_CARD`` / ``REVOKED``."""
    if not isinstance(raw, str) or len(raw) > _MAX_RAW:
        return TokenCheck(ok=False, reason=Refusal.MALFORMED)
    token = raw.strip(_SCANNER_WHITESPACE)
    if len(token) != TOKEN_LENGTH or not _BASE32.issuperset(token):
        return TokenCheck(ok=False, reason=Refusal.MALFORMED)
    if token[0] != VERSION:
        return TokenCheck(ok=False, reason=Refusal.WRONG_VERSION)
    key_id = token[1]
    key = ring._key(key_id)
    if key is None:
        return TokenCheck(ok=False, key_id=key_id, reason=Refusal.UNKNOWN_KEY)
    # 24 characters of the base32 alphabet always decode to exactly 15 bytes.
    data = base64.b32decode(token[2:])
    card_bytes, mac = data[:CARD_ID_BYTES], data[CARD_ID_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, key_id, card_bytes)):
        return TokenCheck(ok=False, key_id=key_id, reason=Refusal.BAD_SIGNATURE)
    card_id = int.from_bytes(card_bytes, "big")
    if ring._is_retired(key_id):
        return TokenCheck(ok=False, card_id=card_id, key_id=key_id, reason=Refusal.RETIRED_KEY)
    return TokenCheck(ok=True, card_id=card_id, key_id=key_id)


# Verhoeff's dihedral-group tables: d = multiplication in D5, p = position permutation,
# inv = inverse. https://en.wikipedia.org/wiki/Verhoeff_algorithm
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)

FALLBACK_RANDOM_DIGITS = 10
FALLBACK_LENGTH = FALLBACK_RANDOM_DIGITS + 1
_DIGITS = frozenset("0123456789")
# Letters a person may type for a digit on a full keyboard (staff desk); the kiosk pad has digits.
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "I": "1", "i": "1", "L": "1", "l": "1"})
_SEPARATORS = str.maketrans("", "", " -\t\r\n.")


def verhoeff_check_digit(digits: str) -> str:
    """The Verhoeff check digit to append to the ASCII digit string ``digits``."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[(i + 1) % 8][ord(ch) - 48]]
    return str(_INV[c])


def verhoeff_valid(digits: str) -> bool:
    """True if the ASCII digit string ``digits`` ends with its correct Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][ord(ch) - 48]]
    return c == 0


def new_fallback_code() -> str:
    """A new random fallback code: 10 random digits + 1 check digit, canonical (no spaces).
    The caller stores it unique per card and draws again on a clash."""
    body = f"{secrets.randbelow(10**FALLBACK_RANDOM_DIGITS):0{FALLBACK_RANDOM_DIGITS}d}"
    return body + verhoeff_check_digit(body)


def normalize_fallback_code(raw: str) -> str | None:
    """The canonical code for what a person typed (spaces, dashes, O/I/L for 0/1 tolerated),
    or None if it is not a well-formed code with a correct check digit. Never raises."""
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    code = raw.translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(code) != FALLBACK_LENGTH or not _DIGITS.issuperset(code):
        return None
    return code if verhoeff_valid(code) else None


def format_fallback_code(code: str) -> str:
    """The printed form of a canonical fallback code: ``1234 5678 901``."""
    if normalize_fallback_code(code) != code:
        raise ValueError("not a canonical fallback code")
    return f"{code[:4]} {code[4:8]} {code[8:]}"
