"""Bearer tokens: genuine ones verify, anything else is None (never an exception), logout is final."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiofetch.web._auth import REVOKED_FILE, RevocationList, TokenClaims, issue_token, verify_token

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = 1_700_000_000.0
HOUR = 3600.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(key: bytes, body: bytes) -> str:
    """Build a token by the documented format, independently of the module's own code."""
    signed = f"af1.{b64(body)}"
    return f"{signed}.{b64(hmac.digest(key, signed.encode(), hashlib.sha256))}"


def test_token_round_trip_carries_subject_times_and_a_unique_id() -> None:
    token = issue_token(KEY, "admin", HOUR, NOW)
    assert re.fullmatch(r"af1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    claims = verify_token(KEY, token, NOW + 10)
    assert claims is not None
    assert (claims.subject, claims.issued_at, claims.expires_at) == ("admin", NOW, NOW + HOUR)
    assert len(claims.token_id) >= 22
    second = verify_token(KEY, issue_token(KEY, "admin", HOUR, NOW), NOW)
    assert second is not None and second.token_id != claims.token_id


def test_documented_format_is_what_verify_accepts() -> None:
    body = json.dumps({"sub": "script", "iat": NOW, "exp": NOW + 60, "jti": "abc"}).encode()
    assert verify_token(KEY, sign(KEY, body), NOW) == TokenClaims("script", NOW, NOW + 60, "abc")


def test_token_expires_at_its_expiry_time() -> None:
    token = issue_token(KEY, "admin", HOUR, NOW)
    assert verify_token(KEY, token, NOW + HOUR - 0.001) is not None
    assert verify_token(KEY, token, NOW + HOUR) is None
    assert verify_token(KEY, token, NOW + 10 * HOUR) is None


def test_token_from_the_future_is_refused() -> None:
    token = issue_token(KEY, "admin", HOUR, NOW + 120)
    assert verify_token(KEY, token, NOW) is None
    assert verify_token(KEY, token, NOW + 61) is not None


def test_forged_signature_and_edited_body_are_refused() -> None:
    token = issue_token(KEY, "admin", HOUR, NOW)
    prefix, body, mac = token.split(".")
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    assert verify_token(KEY, f"{prefix}.{body}.{flipped}", NOW) is None

    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["exp"] = NOW + 100 * HOUR
    assert verify_token(KEY, f"{prefix}.{b64(json.dumps(claims).encode())}.{mac}", NOW) is None
    assert verify_token(KEY, f"af2.{body}.{mac}", NOW) is None
    assert verify_token(KEY, f"{token}.extra", NOW) is None


def test_token_made_with_another_key_is_refused() -> None:
    assert verify_token(KEY, issue_token(OTHER_KEY, "admin", HOUR, NOW), NOW) is None


def test_every_truncation_of_a_token_is_refused() -> None:
    token = issue_token(KEY, "admin", HOUR, NOW)
    for end in range(len(token)):
        assert verify_token(KEY, token[:end], NOW) is None
    for start in range(1, len(token)):
        assert verify_token(KEY, token[start:], NOW) is None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        ".",
        "..",
        "af1..",
        "af1.e30.",
        "Bearer x",
        "af1.%%%.%%%",
        "af1.é.é",
        "a" * 100_000,
        None,
        42,
        b"af1.x.y",
    ],
)
def test_garbage_is_refused(garbage: object) -> None:
    assert verify_token(KEY, garbage, NOW) is None


@pytest.mark.parametrize(
    "body",
    [
        {"sub": "a", "iat": NOW, "exp": NOW - 1, "jti": "j"},
        {"sub": "", "iat": NOW, "exp": NOW + 60, "jti": "j"},
        {"sub": "a", "iat": True, "exp": NOW + 60, "jti": "j"},
        {"sub": "a", "iat": NOW, "exp": "later", "jti": "j"},
        {"sub": "a", "iat": NOW, "exp": NOW + 60},
        {"sub": 5, "iat": NOW, "exp": NOW + 60, "jti": "j"},
        [1, 2, 3],
    ],
)
def test_signed_but_malformed_claims_are_refused(body: object) -> None:
    assert verify_token(KEY, sign(KEY, json.dumps(body).encode()), NOW) is None


def test_signed_non_json_and_infinite_numbers_are_refused() -> None:
    assert verify_token(KEY, sign(KEY, b"\xff not json"), NOW) is None
    assert verify_token(KEY, sign(KEY, b'{"sub":"a","iat":0,"exp":Infinity,"jti":"j"}'), NOW) is None
    assert verify_token(KEY, sign(KEY, b"[" * 1000 + b"]" * 1000), NOW) is None


def test_issue_token_refuses_empty_subject_and_non_positive_lifetime() -> None:
    with pytest.raises(ValueError, match="subject"):
        issue_token(KEY, "", HOUR, NOW)
    with pytest.raises(ValueError, match="lifetime"):
        issue_token(KEY, "admin", 0, NOW)


def test_logout_revokes_that_token_only_and_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / REVOKED_FILE
    revoked = RevocationList.load(path, NOW)
    kept, dropped = issue_token(KEY, "admin", HOUR, NOW), issue_token(KEY, "admin", HOUR, NOW)
    claims = verify_token(KEY, dropped, NOW, revoked=revoked)
    assert claims is not None
    revoked.revoke(claims, NOW + 1)

    assert verify_token(KEY, dropped, NOW + 2, revoked=revoked) is None
    assert verify_token(KEY, kept, NOW + 2, revoked=revoked) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    after_restart = RevocationList.load(path, NOW + 3)
    assert verify_token(KEY, dropped, NOW + 3, revoked=after_restart) is None
    assert verify_token(KEY, kept, NOW + 3, revoked=after_restart) is not None


def test_revoked_entries_expire_with_their_tokens(tmp_path: Path) -> None:
    path = tmp_path / REVOKED_FILE
    revoked = RevocationList.load(path, NOW)
    for _ in range(3):
        claims = verify_token(KEY, issue_token(KEY, "admin", 60, NOW), NOW)
        assert claims is not None
        revoked.revoke(claims, NOW)
    assert len(revoked) == 3
    assert len(RevocationList.load(path, NOW + 61)) == 0
    late = verify_token(KEY, issue_token(KEY, "admin", 60, NOW + 61), NOW + 61)
    assert late is not None
    revoked.revoke(late, NOW + 61)
    assert len(revoked) == 1


def test_full_list_revokes_everything_earlier_instead_of_forgetting(tmp_path: Path) -> None:
    revoked = RevocationList(tmp_path / REVOKED_FILE, max_entries=3)
    tokens = [issue_token(KEY, "admin", HOUR, NOW + i) for i in range(5)]
    for i, token in enumerate(tokens[:4]):
        claims = verify_token(KEY, token, NOW + i)
        assert claims is not None
        revoked.revoke(claims, NOW + 4.5)
    assert len(revoked) <= 3
    for token in tokens:
        assert verify_token(KEY, token, NOW + 10, revoked=revoked) is None
    fresh = issue_token(KEY, "admin", HOUR, NOW + 10)
    assert verify_token(KEY, fresh, NOW + 10, revoked=revoked) is not None


def test_revoke_all_logs_out_everywhere(tmp_path: Path) -> None:
    path = tmp_path / REVOKED_FILE
    old = issue_token(KEY, "admin", HOUR, NOW)
    RevocationList.load(path, NOW).revoke_all(NOW + 5)
    new = issue_token(KEY, "admin", HOUR, NOW + 5)
    revoked = RevocationList.load(path, NOW + 6)
    assert verify_token(KEY, old, NOW + 6, revoked=revoked) is None
    assert verify_token(KEY, new, NOW + 6, revoked=revoked) is not None


@pytest.mark.parametrize(
    "content", ["not json", "[]", '{"not_before": "x", "revoked": {}}', '{"revoked": []}']
)
def test_corrupt_revocation_file_fails_closed(tmp_path: Path, content: str) -> None:
    path = tmp_path / REVOKED_FILE
    path.write_text(content)
    token = issue_token(KEY, "admin", HOUR, NOW)
    revoked = RevocationList.load(path, NOW + 1)
    assert verify_token(KEY, token, NOW + 1, revoked=revoked) is None
    assert verify_token(KEY, issue_token(KEY, "admin", HOUR, NOW + 1), NOW + 1, revoked=revoked) is not None
    assert verify_token(KEY, token, NOW + 2, revoked=RevocationList.load(path, NOW + 2)) is None


@settings(database=None, deadline=None, max_examples=300)
@given(st.text(max_size=3000))
def test_verify_token_never_raises_on_arbitrary_text(text: str) -> None:
    assert verify_token(KEY, text, NOW) is None


@settings(database=None, deadline=None, max_examples=300)
@given(st.text(alphabet="af1.-_AQgw0=+/", max_size=200), st.text(max_size=60))
def test_verify_token_never_raises_on_token_shaped_text(middle: str, tail: str) -> None:
    assert verify_token(KEY, f"af1.{middle}.{tail}", NOW) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@settings(database=None, deadline=None, max_examples=300)
@given(
    st.fixed_dictionaries(
        {},
        optional={"sub": json_values, "iat": json_values, "exp": json_values, "jti": json_values},
    )
)
def test_verify_token_never_raises_on_signed_arbitrary_claims(body: dict[str, object]) -> None:
    result = verify_token(KEY, sign(KEY, json.dumps(body).encode()), NOW)
    assert result is None or isinstance(result, TokenClaims)
