"""Password checks: the memo of successes, brute-force limits, and unknown users looking the same."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from registry.access import Authenticator as Access
from registry.access import manage
from registry.access.limiter import FailureLimiter
from registry.access.passwords import CredentialMemo, hash_password, verify_password
from registry.errors import TooManyRequests, Unauthorized
from tests.access_helpers import local_services

PASSWORD = "correct-horse-battery"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memo_remembers_successes_until_they_expire() -> None:
    clock = Clock()
    memo = CredentialMemo(60, clock=clock)
    memo.remember("alice", PASSWORD, "hash-1")
    assert memo.remembered("alice", PASSWORD, "hash-1")
    assert not memo.remembered("alice", "wrong", "hash-1")
    assert not memo.remembered("alice", PASSWORD, "hash-2"), "a changed password must not match"
    assert not memo.remembered("bob", PASSWORD, "hash-1")
    clock.now += 61
    assert not memo.remembered("alice", PASSWORD, "hash-1")


def test_memo_keys_do_not_collide_across_field_boundaries() -> None:
    memo = CredentialMemo(60)
    memo.remember("a\0b", "c", "h")
    assert not memo.remembered("a", "b\0c", "h")


def test_memo_is_bounded_and_can_be_off() -> None:
    memo = CredentialMemo(60, limit=3)
    for index in range(10):
        memo.remember(f"user{index}", PASSWORD, "h")
    assert len(memo) == 3 and memo.remembered("user9", PASSWORD, "h")
    off = CredentialMemo(0)
    off.remember("alice", PASSWORD, "h")
    assert not off.remembered("alice", PASSWORD, "h")


def test_memo_keeps_no_plain_digest_of_the_password() -> None:
    import hashlib

    memo = CredentialMemo(60)
    memo.remember("alice", PASSWORD, "h")
    plain = hashlib.sha256(b"\0".join([b"alice", PASSWORD.encode(), b"h"])).digest()
    assert plain not in memo._entries


def test_verify_password_rejects_garbage_hashes() -> None:
    assert verify_password(PASSWORD, hash_password(PASSWORD))
    assert not verify_password(PASSWORD, "not-a-hash")
    assert not verify_password(PASSWORD, "")
    assert not verify_password("x" * 5000, hash_password(PASSWORD))


def test_limiter_blocks_after_the_limit_and_says_how_long() -> None:
    clock = Clock()
    limiter = FailureLimiter(per_user=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("alice", "10.0.0.1") == 0
        limiter.failed("alice", "10.0.0.1")
    assert limiter.retry_after("alice", "10.0.0.2") == 60
    clock.now += 30
    assert limiter.retry_after("alice") == 30
    assert limiter.retry_after("bob", "10.0.0.1") == 0
    clock.now += 31
    assert limiter.retry_after("alice") == 0


def test_limiter_counts_addresses_and_success_clears_only_the_user() -> None:
    limiter = FailureLimiter(per_user=100, per_address=2, window=60, clock=Clock())
    limiter.failed("a", "1.2.3.4")
    limiter.failed("b", "1.2.3.4")
    limiter.succeeded("b")
    assert limiter.retry_after("c", "1.2.3.4") > 0
    assert limiter.retry_after("c", "5.6.7.8") == 0


def test_limits_of_zero_turn_the_limiter_off() -> None:
    limiter = FailureLimiter(per_user=0, per_address=0, window=60)
    for _ in range(20):
        limiter.failed("a", "1.2.3.4")
    assert limiter.retry_after("a", "1.2.3.4") == 0


@pytest.fixture
def access(tmp_path: Path) -> Access:
    limits = {"auth.max_failures_per_user": "3", "auth.max_failures_per_address": "0"}
    services = local_services(tmp_path, **limits)
    manage.add_user(services.access, "alice", PASSWORD)
    return services.registry.access.authenticator


def test_wrong_password_and_unknown_user_raise_the_same(access: Access) -> None:
    errors: list[tuple[type, str]] = []
    for name, password in (("alice", "wrong-password"), ("nobody", "wrong-password")):
        with pytest.raises(Unauthorized) as caught:
            access.authenticate(name, password, "")
        errors.append((type(caught.value), caught.value.message))
    assert errors[0] == errors[1]


def test_wrong_password_and_unknown_user_take_the_same_time(access: Access) -> None:
    access.limiter.limits = {"user": 0, "address": 0}

    def cost(name: str) -> float:
        start = time.perf_counter()
        with pytest.raises(Unauthorized):
            access.authenticate(name, "wrong-password", "")
        return time.perf_counter() - start

    wrong: list[float] = []
    unknown: list[float] = []
    for _ in range(15):
        wrong.append(cost("alice"))
        unknown.append(cost("nobody"))
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.6 < ratio < 1.6, (statistics.median(wrong), statistics.median(unknown))
    assert statistics.median(wrong) > 0.003, "a password check should cost milliseconds"


def test_a_success_is_remembered_and_skips_the_hash(access: Access) -> None:
    start = time.perf_counter()
    assert access.authenticate("Alice", PASSWORD, "").username == "alice"
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(20):
        access.authenticate("alice", PASSWORD, "")
    again = (time.perf_counter() - start) / 20
    assert again < first / 5


def test_too_many_failures_give_429_even_for_the_right_password(access: Access) -> None:
    for _ in range(3):
        with pytest.raises(Unauthorized):
            access.authenticate("alice", "wrong-password", "")
    with pytest.raises(TooManyRequests) as caught:
        access.authenticate("alice", PASSWORD, "")
    assert 0 < caught.value.retry_after <= 300


def test_unknown_users_are_limited_like_known_ones(access: Access) -> None:
    for _ in range(3):
        with pytest.raises(Unauthorized):
            access.authenticate("ghost", "wrong-password", "")
    with pytest.raises(TooManyRequests):
        access.authenticate("ghost", "wrong-password", "")


def test_remembered_credentials_survive_a_lockout(access: Access) -> None:
    access.authenticate("alice", PASSWORD, "")
    for _ in range(3):
        with pytest.raises(Unauthorized):
            access.authenticate("alice", "wrong-password", "")
    assert access.authenticate("alice", PASSWORD, "").username == "alice"


def test_wrong_password_and_unknown_user_make_the_same_backend_reads(
    access: Access, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Firestore a read costs milliseconds: a difference in reads would be a timing oracle."""
    access.limiter.limits = {"user": 0, "address": 0}
    access.authenticate("alice", PASSWORD, "")
    reads: list[str] = []
    for method in ("docs_serial", "list_docs", "get_doc"):
        original = getattr(access.store.documents, method)
        monkeypatch.setattr(
            access.store.documents,
            method,
            lambda *a, _m=method, _o=original, **k: (reads.append(_m), _o(*a, **k))[1],
        )
    counts = []
    for name in ("alice", "nobody", "alice", "nobody"):
        reads.clear()
        with pytest.raises(Unauthorized):
            access.authenticate(name, "wrong-password", "")
        counts.append(list(reads))
    assert counts[0] == counts[1] == counts[2] == counts[3]
