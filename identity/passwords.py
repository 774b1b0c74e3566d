"""Passwords: argon2id hashing (RFC 9106, OWASP's parameters) and the policy a new one must meet.

Hashing and verifying take tens of milliseconds of CPU and memory by design, so they run in a
worker thread (``anyio.to_thread``), never on the event loop.

The policy (documented in docs/operations.md, "Accounts"): 12 to 1024 characters; not one
character repeated, not a simple sequence or a short pattern repeated (``abcdefghijkl``,
``987654321098``, ``qwertyuiopas``, ``abcabcabcabc``); not containing the name part of the
email address or the pseudonym; not one of the most common breached passwords
(``common-passwords.txt``, with its source), even dressed up with case, letter-for-digit swaps,
repetition, or digits and symbols before or after.
"""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024
_COMMON_FILE = Path(__file__).with_name("common-passwords.txt")
_SEQUENCES = (
    string.ascii_lowercase,
    string.digits + string.digits,
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_DRESSING = string.digits + string.punctuation + string.whitespace


@dataclass(frozen=True)
class HashParameters:
    """argon2id's cost. The default is OWASP's recommendation (19 MiB, 2 passes, 1 lane)."""

    time_cost: int = 2
    memory_kib: int = 19_456
    parallelism: int = 1

    def hasher(self) -> PasswordHasher:
        return _hasher(self)


@cache
def _hasher(parameters: HashParameters) -> PasswordHasher:
    return PasswordHasher(
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_kib,
        parallelism=parameters.parallelism,
        type=Type.ID,
    )


async def hash_password(password: str, parameters: HashParameters) -> str:
    """The argon2id PHC string of ``password`` (salted), computed in a worker thread."""
    return await anyio.to_thread.run_sync(parameters.hasher().hash, password)


@dataclass(frozen=True)
class Verified:
    ok: bool
    needs_rehash: bool = False


async def verify_password(stored: str, password: str, parameters: HashParameters) -> Verified:
    """Whether ``password`` matches the stored hash, and whether the hash should be redone with
    the current parameters; in a worker thread."""
    hasher = parameters.hasher()

    def check() -> Verified:
        try:
            hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verified(ok=False)
        return Verified(ok=True, needs_rehash=hasher.check_needs_rehash(stored))

    return await anyio.to_thread.run_sync(check)


async def spend_verification_time(parameters: HashParameters) -> None:
    """Cost what a verification costs, for an email that has no account, so that the answer's
    timing does not tell whether it has one."""
    await verify_password(_dummy_hash(parameters), "not the password", parameters)


@cache
def _dummy_hash(parameters: HashParameters) -> str:
    return parameters.hasher().hash("a password nobody has")


# -- policy ------------------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def policy_problems(password: str, *, email: str, pseudonym: str) -> list[str]:
    """What is wrong with ``password`` as a new password for this email and pseudonym; empty
    when it is acceptable. Each problem says what was expected (never the password)."""
    if len(password) < MIN_LENGTH:
        return [f"expected at least {MIN_LENGTH} characters, got {len(password)}"]
    if len(password) > MAX_LENGTH:
        return [f"expected at most {MAX_LENGTH} characters, got {len(password)}"]
    problems = []
    lowered = password.lower()
    if len(set(lowered)) == 1:
        problems.append("expected more than one character repeated")
    elif _is_sequence(lowered) or _repeated_unit(lowered, longest=4) is not None:
        problems.append("expected something other than a sequence or a short pattern repeated")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 3 and local in lowered:
        problems.append("expected a password that does not contain your email address's name")
    if len(pseudonym) >= 3 and pseudonym.lower() in lowered:
        problems.append("expected a password that does not contain your pseudonym")
    if _is_common(lowered):
        problems.append(
            "expected a password that is not one of the most common breached passwords, "
            "even with digits, symbols or letter swaps added"
        )
    return problems


def _is_sequence(text: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if steps in ({1}, {-1}):
        return True
    return any(text in run * 4 or text in run[::-1] * 4 for run in _SEQUENCES)


def _repeated_unit(text: str, *, longest: int) -> str | None:
    """The unit that ``text`` repeats whole (``abcabc`` → ``abc``), if it is at most ``longest``
    characters long."""
    for size in range(1, min(longest, len(text) // 2) + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return None


def _is_common(lowered: str) -> bool:
    common = common_passwords()
    core = lowered.strip(_DRESSING)
    for candidate in {lowered, core, core.translate(_LEET), lowered.translate(_LEET)}:
        if not candidate:
            continue
        if candidate in common:
            return True
        unit = _repeated_unit(candidate, longest=len(candidate) // 2)
        if unit is not None and unit in common:
            return True
    return False
