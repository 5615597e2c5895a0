"""The card token (sign/read, key ring) and the digits-only fallback code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pickle
import random
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import tokens
from kiosk.tokens import KeyRing, KeyRingError, Refusal

ALPHABET = tokens.KEY_IDS  # the RFC 4648 base32 alphabet


@pytest.fixture
def ring(tmp_path):
    return KeyRing.load_or_create(tmp_path / "card-keys")


@pytest.fixture
def token(ring):
    return tokens.sign(4242, ring)


def forge(key: bytes, card_id: int, version: str = "K", key_id: str = "A") -> str:
    """A token built by hand from the documented layout, with any key, version and key id."""
    card = card_id.to_bytes(5, "big")
    mac = hmac.new(key, (version + key_id).encode() + card, hashlib.sha256).digest()[:10]
    return version + key_id + base64.b32encode(card + mac).decode()


def key_of(ring: KeyRing, key_id: str) -> bytes:
    return bytes.fromhex((ring.path / f"{key_id}.key").read_text().strip())


def refused(check, reason: Refusal) -> bool:
    return check.ok is False and check.reason is reason


# --- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize("card_id", [0, 1, 4242, 2**32 + 7, tokens.MAX_CARD_ID])
def test_round_trip(ring, card_id):
    token = tokens.sign(card_id, ring)
    assert len(token) == 26 and token[:2] == "KA" and set(token) <= set(ALPHABET)
    check = tokens.read(token, ring)
    assert check.ok and check.card_id == card_id and check.key_id == "A" and check.reason is None


def test_token_matches_the_documented_layout(ring):
    assert tokens.sign(77, ring) == forge(key_of(ring, "A"), 77)


@pytest.mark.parametrize("card_id", [-1, tokens.MAX_CARD_ID + 1])
def test_sign_refuses_ids_out_of_range(ring, card_id):
    with pytest.raises(ValueError):
        tokens.sign(card_id, ring)


@pytest.mark.parametrize("card_id", [True, 1.0, "1", None])
def test_sign_refuses_non_int(ring, card_id):
    with pytest.raises(TypeError):
        tokens.sign(card_id, ring)


@pytest.mark.parametrize("around", ["{}\r\n", "{}\n", "{}\r", " {} ", "\t{}\t", "\r\n{}\r\n"])
def test_scanner_whitespace_is_ignored(ring, token, around):
    assert tokens.read(around.format(token), ring).card_id == 4242


def test_every_single_changed_character_is_refused(ring, token):
    changed = 0
    for i, original in enumerate(token):
        for ch in ALPHABET:
            if ch == original:
                continue
            check = tokens.read(token[:i] + ch + token[i + 1:], ring)
            assert not check.ok and isinstance(check.reason, Refusal), (i, ch)
            assert check.card_id is None
            changed += 1
    assert changed == 26 * 31


def test_every_flipped_bit_is_refused(ring, token):
    raw = bytearray(base64.b32decode(token[2:]))
    for byte in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[byte] ^= 1 << bit
            forged = token[:2] + base64.b32encode(bytes(tampered)).decode()
            assert refused(tokens.read(forged, ring), Refusal.BAD_SIGNATURE), (byte, bit)


def test_a_changed_card_id_with_the_old_signature_is_refused(ring, token):
    raw = base64.b32decode(token[2:])
    other = (4243).to_bytes(5, "big") + raw[5:]
    assert refused(tokens.read(token[:2] + base64.b32encode(other).decode(), ring),
                   Refusal.BAD_SIGNATURE)


@pytest.mark.parametrize("length", range(26))
def test_truncated_is_malformed(ring, token, length):
    assert refused(tokens.read(token[:length], ring), Refusal.MALFORMED)


@pytest.mark.parametrize("padded", ["{}=", "{}======", "{}A", "A{}", "{}{}", "{} X"])
def test_padded_is_malformed(ring, token, padded):
    assert refused(tokens.read(padded.format(token, token), ring), Refusal.MALFORMED)


def test_case_does_not_matter(ring, token):
    """Caps Lock on a keyboard-wedge scanner types the token in lower case: the same card (the
    signature, not the case, makes a token genuine)."""
    genuine = tokens.read(token, ring)
    assert tokens.read(token.lower(), ring) == genuine
    for i, ch in enumerate(token):
        if ch.isalpha():
            one_lower = token[:i] + ch.lower() + token[i + 1:]
            assert tokens.read(one_lower, ring) == genuine, i


@pytest.mark.parametrize("prefix", ["]Q0", "]Q1", "]q1", "]Q6", " ]Q3 "])
def test_aim_qr_prefix_is_taken_off(ring, token, prefix):
    assert tokens.read(prefix + token, ring) == tokens.read(token, ring)


@pytest.mark.parametrize("prefix", ["]Q7", "]C0", "]d2", "]Q", "Q1", "]]Q1"])
def test_other_prefixes_are_malformed(ring, token, prefix):
    assert refused(tokens.read(prefix + token, ring), Refusal.MALFORMED)


def test_inner_whitespace_and_other_symbols_are_malformed(ring, token):
    for bad in (token[:13] + " " + token[14:], token[:25] + "0", token[:25] + "1",
                token[:25] + "8", token[:25] + "\u0410", token.replace("A", "\uff21")):
        assert refused(tokens.read(bad, ring), Refusal.MALFORMED), bad


@pytest.mark.parametrize("version", ["L", "A", "Z", "2"])
def test_wrong_version_is_refused(ring, version):
    # Even a correctly signed token of another format version is refused.
    assert refused(tokens.read(forge(key_of(ring, "A"), 5, version=version), ring),
                   Refusal.WRONG_VERSION)


def test_unknown_key_id_is_refused(ring):
    check = tokens.read(forge(os.urandom(32), 5, key_id="Q"), ring)
    assert refused(check, Refusal.UNKNOWN_KEY) and check.key_id == "Q"


def test_token_from_another_ring_is_a_bad_signature(ring, tmp_path):
    other = KeyRing.load_or_create(tmp_path / "other")
    assert refused(tokens.read(tokens.sign(4242, other), ring), Refusal.BAD_SIGNATURE)


def test_rotation_keeps_old_tokens_valid(ring, token):
    assert ring.rotate() == "B"
    assert ring.current_id == "B" and ring.key_ids == ("A", "B")
    new = tokens.sign(4242, ring)
    assert new[:2] == "KB" and new != token
    assert tokens.read(token, ring).ok and tokens.read(new, ring).ok
    assert tokens.read(token, ring).key_id == "A"


def test_sign_with_an_older_key_reproduces_the_printed_token(ring, token):
    ring.rotate()
    assert tokens.sign(4242, ring, key_id="A") == token
    assert tokens.sign(4242, ring, key_id="B") == tokens.sign(4242, ring)
    with pytest.raises(KeyRingError):
        tokens.sign(4242, ring, key_id="Z")
    ring.retire("A")
    assert refused(tokens.read(tokens.sign(4242, ring, key_id="A"), ring), Refusal.RETIRED_KEY)


def test_retired_key_is_refused_but_still_tells_the_card(ring, token):
    ring.rotate()
    ring.retire("A")
    check = tokens.read(token, ring)
    assert refused(check, Refusal.RETIRED_KEY) and check.card_id == 4242
    assert ring.retired_ids == {"A"}
    # A forgery under the retired key id is still a forgery.
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert refused(tokens.read(forged, ring), Refusal.BAD_SIGNATURE)
    assert tokens.read(tokens.sign(9, ring), ring).ok


def test_current_key_cannot_be_retired(ring):
    with pytest.raises(KeyRingError):
        ring.retire("A")
    with pytest.raises(KeyRingError):
        ring.retire("Z")


def test_another_process_sees_rotation_and_retirement(ring, token):
    other = KeyRing.load_or_create(ring.path)  # e.g. a second gunicorn worker
    assert other.current_id == "A"
    ring.rotate()
    assert tokens.read(tokens.sign(1, ring), other).ok
    assert other.current_id == "B"
    ring.retire("A")
    assert refused(tokens.read(token, other), Refusal.RETIRED_KEY)


def test_load_or_create_keeps_an_existing_ring(ring, token):
    again = KeyRing.load_or_create(ring.path)
    assert tokens.read(token, again).ok and again.current_id == "A"


def test_key_files_are_private(ring):
    ring.rotate()
    for name in ("A.key", "B.key", "ring.json"):
        assert stat.S_IMODE(os.stat(ring.path / name).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(ring.path).st_mode) & 0o077 == 0
    assert not [p for p in ring.path.iterdir() if p.name.endswith(".tmp")]


def test_keys_never_show_in_repr_str_or_pickle(ring):
    ring.rotate()
    for key_id in ("A", "B"):
        key = key_of(ring, key_id)
        for text in (repr(ring), str(ring), f"{ring}", pickle.dumps(ring).hex()):
            assert key.hex() not in text and key.hex().upper() not in text
        assert key not in pickle.dumps(ring)
    assert tokens.read(tokens.sign(3, pickle.loads(pickle.dumps(ring))), ring).ok


def test_keys_never_reach_the_log(tmp_path, caplog):
    caplog.set_level("DEBUG")
    ring = KeyRing.load_or_create(tmp_path / "keys")
    ring.rotate()
    ring.retire("A")
    tokens.read(tokens.sign(1, ring), ring)
    (ring.path / "ring.json").write_text("{broken")
    tokens.read(tokens.sign(1, ring), ring)
    assert caplog.records  # the ring does log what it does
    for key_id in ("A", "B"):
        assert key_of(ring, key_id).hex() not in caplog.text.lower()


def test_a_damaged_key_file_stops_the_ring_from_loading(ring):
    (ring.path / "A.key").write_text("not hex")
    with pytest.raises(KeyRingError, match="does not hold"):
        KeyRing.load_or_create(ring.path)


def test_a_damaged_directory_later_does_not_break_reading(ring, token):
    (ring.path / "ring.json").write_text("{broken")
    assert tokens.read(token, ring).ok  # keeps the keys it had


# --- keys held by this server, checked against the installation's registry ------------------


class MemoryRegistry:
    """The installation's registry as the database holds it, shared by the rings of several
    'servers' in one test."""

    def __init__(self):
        self.fingerprints: dict[str, str] = {}
        self.retired: set[str] = set()
        self.loads = 0

    def load(self):
        self.loads += 1
        return tokens.RingState(dict(self.fingerprints), frozenset(self.retired))

    def add(self, key_id, fingerprint):
        assert key_id not in self.fingerprints  # the database's primary key
        self.fingerprints[key_id] = fingerprint

    def retire(self, key_id):
        self.retired.add(key_id)

    def writing(self):
        import contextlib

        return contextlib.nullcontext()


def server(tmp_path, registry, name: str, given=None, max_age: float = 0) -> KeyRing:
    return KeyRing(tokens.KeyStore(tmp_path / name / "card-keys", given), registry, max_age=max_age)


def test_first_server_makes_key_a_and_a_second_server_without_it_is_refused(tmp_path):
    registry = MemoryRegistry()
    first = server(tmp_path, registry, "a")
    first.ensure()
    assert first.current_id == "A" and list(registry.fingerprints) == ["A"]
    second = server(tmp_path, registry, "b")  # its own empty folder: must not invent another A
    with pytest.raises(KeyRingError, match="card key A is in use but not on this server"):
        second.ensure()
    assert not (tmp_path / "b" / "card-keys" / "A.key").exists()
    token = tokens.sign(7, first)
    assert refused(tokens.read(token, second), Refusal.UNKNOWN_KEY)
    with pytest.raises(KeyRingError, match="not on this server") as missing:
        tokens.sign(7, second)
    assert missing.value.key_id == "A"


def test_a_server_with_a_different_key_a_is_refused(tmp_path):
    registry = MemoryRegistry()
    server(tmp_path, registry, "a").ensure()
    tokens.KeyStore(tmp_path / "b" / "card-keys").create("A")  # a key A of its own, made elsewhere
    impostor = server(tmp_path, registry, "b")
    with pytest.raises(KeyRingError, match="not the key A this installation uses"):
        impostor.ensure()
    with pytest.raises(KeyRingError, match="not the key A"):
        tokens.sign(7, impostor)


def test_servers_sharing_a_folder_or_given_keys_agree(tmp_path):
    registry = MemoryRegistry()
    first = server(tmp_path, registry, "shared")
    first.ensure()
    same_folder = server(tmp_path, registry, "shared")
    same_folder.ensure()
    key_a = (tmp_path / "shared" / "card-keys" / "A.key").read_text().strip()
    given = server(tmp_path, registry, "env-only", given=f"A:{key_a}")
    given.ensure()
    token = tokens.sign(99, first)
    assert tokens.read(token, same_folder).ok and tokens.read(token, given).ok
    assert tokens.sign(99, given) == token


def test_a_rotation_on_one_server_is_seen_by_the_others(tmp_path):
    registry = MemoryRegistry()
    first = server(tmp_path, registry, "shared")
    first.ensure()
    other = server(tmp_path, registry, "shared", max_age=3600)  # a long cache: only misses reload
    old_token = tokens.sign(5, other)
    assert first.rotate() == "B" and first.current_id == "B"
    new_token = tokens.sign(5, first)
    assert tokens.read(new_token, other).ok  # a key id not seen yet is looked up at once
    assert other.current_id == "B"
    first.retire("A")
    other.forget_cached_state()
    assert refused(tokens.read(old_token, other), Refusal.RETIRED_KEY)


def test_the_registry_is_read_from_a_cache_not_on_every_scan(tmp_path):
    registry = MemoryRegistry()
    ring = server(tmp_path, registry, "a", max_age=3600)
    ring.ensure()
    token = tokens.sign(1, ring)
    before = registry.loads
    for _ in range(50):
        assert tokens.read(token, ring).ok
    assert registry.loads == before


def test_a_rotation_on_a_server_without_the_folder_leaves_the_others_short_of_the_key(tmp_path):
    registry = MemoryRegistry()
    first, second = server(tmp_path, registry, "a"), server(tmp_path, registry, "b")
    first.ensure()
    key_a = (tmp_path / "a" / "card-keys" / "A.key").read_text().strip()
    (tmp_path / "b" / "card-keys").mkdir(parents=True)
    (tmp_path / "b" / "card-keys" / "A.key").write_text(key_a)
    second.ensure()
    first.rotate()
    token_b = tokens.sign(3, first)
    assert refused(tokens.read(token_b, second), Refusal.UNKNOWN_KEY)
    with pytest.raises(KeyRingError, match="card key B is in use but not on this server"):
        second.ensure()
    # Copying the key file over is the fix.
    (tmp_path / "b" / "card-keys" / "B.key").write_text((tmp_path / "a" / "card-keys" / "B.key").read_text())
    second.ensure()
    assert tokens.read(token_b, second).ok


def test_a_missing_retired_key_does_not_stop_a_server(tmp_path):
    registry = MemoryRegistry()
    first = server(tmp_path, registry, "shared")
    first.ensure()
    old_token = tokens.sign(8, first)
    first.rotate()
    first.retire("A")
    (tmp_path / "shared" / "card-keys" / "A.key").unlink()
    second = server(tmp_path, registry, "shared")
    second.ensure()
    assert refused(tokens.read(old_token, second), Refusal.RETIRED_KEY)


def test_an_older_ring_in_the_folder_becomes_the_installations(tmp_path):
    old = KeyRing.load_or_create(tmp_path / "old" / "card-keys")
    token_a = tokens.sign(11, old)
    old.rotate()
    old.retire("A")
    token_b = tokens.sign(11, old)
    registry = MemoryRegistry()
    upgraded = KeyRing(tokens.KeyStore(old.path), registry, max_age=0)
    upgraded.ensure()
    assert upgraded.current_id == "B" and upgraded.retired_ids == {"A"}
    assert set(registry.fingerprints) == {"A", "B"}
    assert tokens.read(token_b, upgraded).ok
    assert refused(tokens.read(token_a, upgraded), Refusal.RETIRED_KEY)


@pytest.mark.parametrize("given", ["A:xyz", "AB:" + "00" * 32, "A:" + "00" * 31, "a" + "00" * 32, "?:" + "00" * 32])
def test_badly_given_keys_are_refused_without_echoing_them(given):
    with pytest.raises(KeyRingError, match="KIOSK_CARD_KEYS") as refused_:
        tokens.KeyStore("/nonexistent", given)
    assert "00" * 31 not in str(refused_.value)


def test_given_keys_parse_in_every_spelling(tmp_path):
    a, b = "11" * 32, "22" * 32
    for given in (f"A:{a} B:{b}", f"A={a},B={b}", f"a:{a}, b:{b}", {"A": a, "B": b}):
        store = tokens.KeyStore(tmp_path, given)
        assert store.held() == {"A": bytes.fromhex(a), "B": bytes.fromhex(b)}
        assert a not in repr(store) and b not in repr(store)


def test_the_key_slots_run_out(ring):
    for _ in range(31):
        ring.rotate()
    assert ring.current_id == "7"
    with pytest.raises(KeyRingError):
        ring.rotate()


def test_refusals_are_one_set_with_messages():
    assert {r.name for r in Refusal} == {
        "MALFORMED", "WRONG_VERSION", "UNKNOWN_KEY", "RETIRED_KEY", "BAD_SIGNATURE",
        "UNKNOWN_CARD", "REVOKED",
    }
    for reason in Refusal:
        assert str(reason.message).strip()


def test_huge_input_is_refused_quickly(ring, token):
    assert refused(tokens.read(token * 100_000, ring), Refusal.MALFORMED)
    assert refused(tokens.read(" " * 10**6 + token, ring), Refusal.MALFORMED)


@pytest.mark.parametrize("raw", [None, b"KAAAA", 42, ["K"]])
def test_non_text_is_malformed(ring, raw):
    assert refused(tokens.read(raw, ring), Refusal.MALFORMED)


_NEAR_TOKENS = st.text(alphabet=ALPHABET + "abc018=- \r\n\t", min_size=20, max_size=30)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.text(max_size=200), _NEAR_TOKENS))
def test_read_never_raises_and_always_explains(tmp_path_factory, raw):
    ring = _shared_ring(tmp_path_factory)
    check = tokens.read(raw, ring)
    assert isinstance(check, tokens.TokenCheck)
    if check.ok:
        assert check.reason is None and isinstance(check.card_id, int)
    else:
        assert isinstance(check.reason, Refusal)


@settings(max_examples=100, deadline=None)
@given(card_id=st.integers(0, tokens.MAX_CARD_ID))
def test_round_trip_any_id(tmp_path_factory, card_id):
    ring = _shared_ring(tmp_path_factory)
    assert tokens.read(tokens.sign(card_id, ring), ring).card_id == card_id


_RINGS: dict[str, KeyRing] = {}


def _shared_ring(tmp_path_factory) -> KeyRing:
    # Hypothesis runs a test body many times; function-scoped fixtures are not reset between
    # examples, so the property tests share one ring made on first use.
    if "ring" not in _RINGS:
        _RINGS["ring"] = KeyRing.load_or_create(tmp_path_factory.mktemp("prop") / "card-keys")
    return _RINGS["ring"]


# --- the fallback code -------------------------------------------------------------------------


@pytest.mark.parametrize("digits, check", [("236", "3"), ("12345", "1"), ("75872", "2")])
def test_verhoeff_published_examples(digits, check):
    assert tokens.verhoeff_check_digit(digits) == check
    assert tokens.verhoeff_valid(digits + check)
    assert not tokens.verhoeff_valid(digits + str((int(check) + 1) % 10))


def test_new_fallback_codes_are_valid_and_random():
    codes = {tokens.new_fallback_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert len(code) == 11 and code.isascii() and code.isdigit()
        assert tokens.normalize_fallback_code(code) == code
    # each of the ten random positions takes several values
    assert all(len({c[i] for c in codes}) == 10 for i in range(10))


def _sample_codes(n: int = 300) -> list[str]:
    rng = random.Random(20260101)
    bodies = ["0000000000", "9999999999", "0123456789", "1111111111"]
    bodies += [f"{rng.randrange(10**10):010d}" for _ in range(n)]
    return [b + tokens.verhoeff_check_digit(b) for b in bodies]


def test_every_single_digit_substitution_is_rejected():
    tried = 0
    for code in _sample_codes():
        for i in range(11):
            for d in "0123456789":
                if d != code[i]:
                    assert tokens.normalize_fallback_code(code[:i] + d + code[i + 1:]) is None
                    tried += 1
    assert tried == 304 * 11 * 9


def test_every_adjacent_transposition_is_rejected():
    tried = 0
    for code in _sample_codes():
        for i in range(10):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                assert tokens.normalize_fallback_code(swapped) is None, (code, i)
                tried += 1
    assert tried > 2500


def test_every_digit_pair_transposes_detectably_in_every_position():
    # Exhaustive over the 90 ordered pairs of distinct digits at positions 0-8, and every
    # digit next to its check digit at position 9.
    base = "5" * 10
    for i in range(10):
        for a in "0123456789":
            for b in "0123456789":
                if a == b:
                    continue
                body = base[:i] + a + b + base[i + 2:]
                body = body[:10]
                code = body + tokens.verhoeff_check_digit(body)
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
                if swapped != code:
                    assert tokens.normalize_fallback_code(swapped) is None, (code, i)


@pytest.mark.parametrize("typed", [
    "{a} {b} {c}", "{a}-{b}-{c}", "  {a}{b}{c}\r\n", "{a} - {b} - {c}", "{a}.{b}.{c}",
])
def test_normalize_accepts_spaces_and_dashes(typed):
    code = _sample_codes(1)[-1]
    raw = typed.format(a=code[:4], b=code[4:8], c=code[8:])
    assert tokens.normalize_fallback_code(raw) == code


def test_normalize_maps_letters_that_look_like_digits():
    body = "1010101010"
    code = body + tokens.verhoeff_check_digit(body)
    typed = code.replace("1", "I", 2).replace("0", "O", 2).replace("1", "l", 1)
    assert tokens.normalize_fallback_code(typed) == code


@pytest.mark.parametrize("raw", [
    "", "1234", "123456789012", "12345678901234567890", "ABCDEFGHJKM",
    "١٢٣٤٥٦٧٨٩٠١", "１２３４５６７８９０１", "1" * 10**6, "12345 678_901",
])
def test_normalize_rejects_junk(raw):
    assert tokens.normalize_fallback_code(raw) is None


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=60))
def test_normalize_never_raises(raw):
    result = tokens.normalize_fallback_code(raw)
    assert result is None or (len(result) == 11 and tokens.verhoeff_valid(result))


def test_format_fallback_code():
    code = _sample_codes(1)[-1]
    assert tokens.format_fallback_code(code) == f"{code[:4]} {code[4:8]} {code[8:]}"
    assert tokens.normalize_fallback_code(tokens.format_fallback_code(code)) == code
    with pytest.raises(ValueError):
        tokens.format_fallback_code(code[:-1] + str((int(code[-1]) + 1) % 10))
