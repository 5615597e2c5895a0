"""The card keys: where they are kept (``KeyStore``), the installation's registry of them
(``FolderRegistry``; the database's is ``kiosk.installation``), and the ring that signs and
checks with them (``KeyRing``)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..private_files import link_new, replace_file, write_private

log = logging.getLogger(__name__)


KEY_IDS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32 = frozenset(KEY_IDS)
_KEY_BYTES = 32
_STATE_FILE = "ring.json"
# A process re-reads the installation's registry of keys at most this often (seconds): a rotation
# or retirement made on another server is seen within this time, at no cost to each scan.
STATE_MAX_AGE = 5.0
# ... and at most this often per key id when a token names a key id it has not seen yet.
_UNSEEN_KEY_SECONDS = 0.5


class KeyRingError(Exception):
    """A card key cannot be used or made: missing on this server, different from the
    installation's, a damaged key file, no free key slot, an unknown key id. ``key_id`` names the
    key when there is one. The message is for the operator (logs, command line)."""

    def __init__(self, message: str, key_id: str | None = None):
        super().__init__(message)
        self.key_id = key_id


def fingerprint(key: bytes) -> str:
    """What the installation records of a card key: it tells whether two servers hold the same
    key, and nothing about the key itself."""
    return hmac.new(key, b"kiosk-bpu card key fingerprint", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class RingState:
    """The installation's card keys as its registry knows them: each key id with the
    fingerprint of its key, and which are retired. The current key (new cards are signed with
    it) is the newest one: rotation fills the key slots in order and never retires the current
    key, so it is the last slot in use that is not retired."""

    fingerprints: dict[str, str]
    retired: frozenset[str] = frozenset()

    @property
    def current(self) -> str | None:
        live = [k for k in KEY_IDS if k in self.fingerprints and k not in self.retired]
        return live[-1] if live else None


class KeyStore:
    """The card keys this server holds (key material never leaves it): key files in one folder
    (``<secrets>/card-keys/<key id>.key``, mode 0600, 32 random bytes as hex), and keys given in
    the configuration (``KIOSK_CARD_KEYS="A:<64 hex> B:<64 hex>"``), which win over files."""

    def __init__(self, path: str | os.PathLike[str], given=None):
        self.path = Path(path)
        self._given = parse_given_keys(given)
        self._files: dict[str, bytes] = {}

    def get(self, key_id: str) -> bytes | None:
        """The key ``key_id``, or None when this server does not hold it. A key file is read on
        first use (one made later by a rotation on another server sharing the folder is found).
        Raises ``KeyRingError`` for a damaged key file."""
        if key_id in self._given:
            return self._given[key_id]
        if key_id in self._files:
            return self._files[key_id]
        if key_id not in _BASE32:
            return None
        key = _read_key_file(self.path / f"{key_id}.key")
        if key is not None:
            self._files[key_id] = key
        return key

    def held(self) -> dict[str, bytes]:
        """Every key this server holds, by key id."""
        found = {}
        for key_id in KEY_IDS:
            key = self.get(key_id)
            if key is not None:
                found[key_id] = key
        return found

    def create(self, key_id: str) -> bytes:
        """A new random key ``key_id`` written to the folder, or the key already held under
        that id (given, or written a moment ago by another process sharing the folder)."""
        key = self.get(key_id)
        if key is not None:
            return key
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        link_new(self.path / f"{key_id}.key", secrets.token_bytes(_KEY_BYTES).hex().encode() + b"\n")
        key = self.get(key_id)
        if key is None:
            raise KeyRingError(f"card key {key_id} could not be written to {self.path}", key_id)
        log.info("card key %s made in %s", key_id, self.path)
        return key

    def where(self, key_id: str) -> str:
        """Where this server looks for ``key_id`` (for messages)."""
        return f"{self.path / f'{key_id}.key'} or KIOSK_CARD_KEYS"

    def __repr__(self) -> str:
        return f"KeyStore(path={str(self.path)!r}, given={''.join(sorted(self._given))!r})"

    __str__ = __repr__

    def __reduce__(self):
        # Pickling would copy the keys into caches, queues or logs; rebuild from the folder.
        return (KeyStore, (str(self.path),))


def parse_given_keys(given) -> dict[str, bytes]:
    """``KIOSK_CARD_KEYS`` as key id -> key: a mapping, or text ``A:<64 hex>`` entries separated
    by spaces or commas (``=`` works as well as ``:``). Raises ``KeyRingError`` on a bad entry
    (without echoing the key)."""
    if not given:
        return {}
    items = given.items() if hasattr(given, "items") else (
        entry.replace("=", ":").partition(":")[::2] for entry in str(given).replace(",", " ").split()
    )
    keys = {}
    for key_id, text in items:
        key_id = str(key_id).strip().upper()
        key = _parse_key(str(text))
        if len(key_id) != 1 or key_id not in _BASE32 or key is None:
            raise KeyRingError(
                f"KIOSK_CARD_KEYS: entry {key_id[:2]!r} is not <key id>:<{2 * _KEY_BYTES} hex digits>"
            )
        keys[key_id] = key
    return keys


class FolderRegistry:
    """A registry kept in the key folder itself (``ring.json``: the current key and the retired
    ones; fingerprints are those of the files). The app registers its keys in the database
    (``kiosk.card_registry``); this one serves tools without a database, and is how the app
    reads the ring an older version left."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._state: RingState | None = None

    def load(self) -> RingState:
        state_path = self.path / _STATE_FILE
        try:
            stamp = _stamp(state_path)
        except FileNotFoundError:
            return RingState({})
        except OSError as exc:
            raise KeyRingError(f"cannot read {state_path}: {exc.__class__.__name__}") from None
        if stamp == self._stamp and self._state is not None:
            return self._state
        try:
            state = json.loads(state_path.read_bytes())
            current, retired = state["current"], frozenset(state.get("retired", ()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"cannot read {state_path}: {exc.__class__.__name__}") from None
        store = KeyStore(self.path)
        fingerprints = {}
        for key_id in KEY_IDS:
            key = store.get(key_id)
            # A key file past the current slot is a rotation that never finished: not in use.
            if key is not None and current in _BASE32 and KEY_IDS.index(key_id) <= KEY_IDS.index(current):
                fingerprints[key_id] = fingerprint(key)
        if current not in fingerprints:
            raise KeyRingError(f"current card key {current!r} has no key file in {self.path}", current)
        self._state, self._stamp = RingState(fingerprints, retired & fingerprints.keys()), stamp
        return self._state

    def add(self, key_id: str, key_fingerprint: str) -> None:
        self._write(key_id, self.load().retired)

    def retire(self, key_id: str) -> None:
        state = self.load()
        self._write(state.current, state.retired | {key_id})

    def writing(self):
        return contextlib.nullcontext()

    def _write(self, current: str | None, retired) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path / f".{_STATE_FILE}.{secrets.token_hex(4)}.tmp"
        write_private(tmp, json.dumps({"current": current, "retired": sorted(retired)}).encode() + b"\n")
        replace_file(tmp, self.path / _STATE_FILE)


class KeyRing:
    """The card-signing keys: the key material this server holds (a ``KeyStore``) checked
    against the installation's registry of key ids, fingerprints and retirements (the database,
    or a ``FolderRegistry``).

    Every server of an installation sees the same registry, so a key id means one key
    everywhere and a rotation or retirement made on one server is seen by all: each process
    re-reads the registry at most every ``max_age`` seconds (at once when a token names a key id
    it has not seen yet). A key this server lacks, or holds differently from the registry, is
    not used: its tokens are refused as ``UNKNOWN_KEY`` and signing with it raises
    ``KeyRingError``. Key material never appears in ``repr``/``str``, pickles or logs.

    A registry has ``load()`` (a ``RingState``), ``add(key_id, fingerprint)``, ``retire(key_id)``
    and ``writing()``, the transaction a change runs in.
    """

    def __init__(self, store: KeyStore, registry, max_age: float = STATE_MAX_AGE):
        self._store = store
        self._registry = registry
        self.max_age = max_age
        self._cached: tuple[RingState, float] | None = None
        self._verified: dict[str, tuple[str, bytes]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._unseen: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str] = "instance/card-keys") -> KeyRing:
        """A ring kept wholly in the folder ``path`` (keys and ``ring.json``), created with key
        ``A`` on first use: for tools and tests without a database."""
        ring = cls(KeyStore(path), FolderRegistry(path), max_age=0)
        ring.ensure()
        return ring

    @property
    def path(self) -> Path:
        """The folder of this server's key files."""
        return self._store.path

    @property
    def current_id(self) -> str:
        """The key id new tokens are signed with."""
        current = self._state().current
        if current is None:
            raise KeyRingError("this installation has no card key yet")
        return current

    def signing_id(self) -> str:
        """The current key id, when this server holds that key; else raises ``KeyRingError``
        (a server that could not print the new card must not issue it)."""
        key_id = self.current_id
        if self._key(key_id) is None:
            raise self.missing(key_id)
        return key_id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id of the installation, retired ones included, in slot order."""
        state = self._state()
        return tuple(k for k in KEY_IDS if k in state.fingerprints)

    @property
    def retired_ids(self) -> frozenset[str]:
        """The key ids whose tokens are refused as ``RETIRED_KEY``."""
        return self._state().retired

    def ensure(self) -> None:
        """Make sure the installation has card keys and that this server holds them.

        On an installation without keys, this server's keys become the installation's: those a
        version that kept the ring in its folder left there (with their ``ring.json``), else a
        new key ``A``. Raises ``KeyRingError`` naming every key in use that this server lacks
        or holds differently: such a server must not sign or check cards (see ``problems``)."""
        with self._lock, self._registry.writing():
            state = self._registry.load()
            if not state.fingerprints:
                self._adopt()
        self._cached = None
        problems = self.problems()
        if problems:
            raise KeyRingError("; ".join(problems))

    def _adopt(self) -> None:
        held = self._store.held()
        if not held:
            key = self._store.create(KEY_IDS[0])
            self._registry.add(KEY_IDS[0], fingerprint(key))
            log.info("card key %s registered for this installation", KEY_IDS[0])
            return
        try:
            old = FolderRegistry(self._store.path).load()
        except KeyRingError:
            old = RingState({k: fingerprint(v) for k, v in held.items()})
        for key_id in KEY_IDS:
            if key_id in held and (key_id in old.fingerprints or not old.fingerprints):
                self._registry.add(key_id, fingerprint(held[key_id]))
        for key_id in sorted(old.retired):
            self._registry.retire(key_id)
        log.info("card keys %s of %s registered for this installation", "".join(sorted(held)), self._store.path)

    def problems(self) -> list[str]:
        """What keeps this server from using the installation's keys: each key in use (not
        retired) that it lacks or holds differently. Empty when all is well."""
        state = self._registry.load()
        found = []
        for key_id, expected in state.fingerprints.items():
            try:
                key = self._store.get(key_id)
            except KeyRingError as exc:
                found.append(str(exc))
                continue
            if key is None and key_id not in state.retired:
                found.append(f"card key {key_id} is in use but not on this server ({self._store.where(key_id)})")
            elif key is not None and fingerprint(key) != expected:
                found.append(f"this server's card key {key_id} is not the key {key_id} this installation uses")
        return found

    def rotate(self) -> str:
        """Register a new key in the next free slot as the current one and return its id; older
        keys still verify. The key is the one this server holds for that slot (given in the
        configuration) or a new key file."""
        with self._lock, self._registry.writing():
            state = self._registry.load()
            free = [k for k in KEY_IDS if k not in state.fingerprints]
            if not free:
                raise KeyRingError("all 32 card key slots are used")
            key_id = free[0]
            self._registry.add(key_id, fingerprint(self._store.create(key_id)))
            self._cached = None
        log.info("card key rotated: current key is now %s", key_id)
        return key_id

    def retire(self, key_id: str) -> None:
        """Refuse tokens signed with ``key_id`` from now on; the current key cannot be retired."""
        with self._lock, self._registry.writing():
            state = self._registry.load()
            if key_id not in state.fingerprints:
                raise KeyRingError(f"no card key {key_id!r}", key_id)
            if key_id == state.current:
                raise KeyRingError("the current card key cannot be retired; rotate first", key_id)
            self._registry.retire(key_id)
            self._cached = None
        log.info("card key %s retired", key_id)

    def forget_cached_state(self) -> None:
        """Read the registry again on next use (after a transaction that changed it rolled back)."""
        self._cached = None

    def _state(self, newer_than: float | None = None) -> RingState:
        cached = self._cached
        now = time.monotonic()
        if cached is not None and now - cached[1] < (self.max_age if newer_than is None else newer_than):
            return cached[0]
        try:
            state = self._registry.load()
        except KeyRingError as exc:
            if cached is None:
                raise
            # A scan must never fail because of a key-folder hiccup: keep the state loaded.
            self._warn("", f"card key registry not reloaded, keeping the loaded keys: {exc}")
            return cached[0]
        self._cached = (state, now)
        return state

    def _state_for_unseen(self, key_id: str) -> RingState:
        # A key rotated on another server a moment ago: read the registry now, but at most
        # every _UNSEEN_KEY_SECONDS per key id (forged tokens must not cost a query each).
        now = time.monotonic()
        last = self._unseen.get(key_id)
        if last is not None and now - last < _UNSEEN_KEY_SECONDS:
            return self._state()
        self._unseen[key_id] = now
        return self._state(newer_than=0)

    def _key(self, key_id: str) -> bytes | None:
        """The verified key ``key_id``, or None: not a key of the installation, not on this
        server, or not the installation's key of that id."""
        state = self._state()
        if key_id not in state.fingerprints and key_id in _BASE32:
            state = self._state_for_unseen(key_id)
        expected = state.fingerprints.get(key_id)
        if expected is None:
            return None
        verified = self._verified.get(key_id)
        if verified is not None and verified[0] == expected:
            return verified[1]
        try:
            key = self._store.get(key_id)
        except KeyRingError as exc:
            self._warn(key_id, str(exc))
            return None
        if key is None:
            self._warn(key_id, f"card key {key_id} is in use but not on this server ({self._store.where(key_id)})")
            return None
        if fingerprint(key) != expected:
            self._warn(key_id, f"this server's card key {key_id} is not the key {key_id} this installation uses")
            return None
        self._verified[key_id] = (expected, key)
        return key

    def _is_retired(self, key_id: str) -> bool:
        return key_id in self._state().retired

    def missing(self, key_id: str) -> KeyRingError:
        """Why this server cannot sign with ``key_id`` (for ``sign``'s error)."""
        if key_id not in self._state(newer_than=0).fingerprints:
            return KeyRingError(f"no card key {key_id!r}", key_id)
        problems = [p for p in self.problems() if f"key {key_id} " in p]
        return KeyRingError(problems[0] if problems else f"no card key {key_id!r}", key_id)

    def _warn(self, key_id: str, message: str) -> None:
        if (key_id, message) not in self._warned:
            self._warned.add((key_id, message))
            if key_id:
                message += ": its cards are refused and cannot be printed here"
            log.error("%s", message)

    def __repr__(self) -> str:
        state = self._cached[0] if self._cached else RingState({})
        return (
            f"KeyRing(path={str(self._store.path)!r}, current={state.current or ''!r}, "
            f"keys={''.join(k for k in KEY_IDS if k in state.fingerprints)!r}, "
            f"retired={''.join(sorted(state.retired))!r})"
        )

    __str__ = __repr__

    def __reduce__(self):
        # Pickling would copy the keys into caches, queues or logs; rebuild from the folder.
        return (KeyRing.load_or_create, (str(self._store.path),))


def _stamp(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _parse_key(text: str) -> bytes | None:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        return None
    return key if len(key) == _KEY_BYTES else None


def _read_key_file(path: Path) -> bytes | None:
    try:
        text = path.read_text("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError):
        raise KeyRingError(f"cannot read {path}", path.stem) from None
    key = _parse_key(text)
    if key is None:
        raise KeyRingError(f"{path} does not hold a {_KEY_BYTES}-byte hex key", path.stem)
    return key
