"""Asking a witness to cosign the log's latest checkpoint (c2sp.org/tlog-witness add-checkpoint).

``request_cosignature`` is what ``corroborate ledger cosign URL WITNESS_VKEY`` runs:

1. read the latest checkpoint, and the largest size this witness's key has a stored cosignature
   for (0 if none): that is the ``old`` size the witness should hold;
2. POST ``old <size>``, the consistency proof from that size (none from 0 or to the same size),
   an empty line and the log-signed checkpoint to ``<url>/add-checkpoint``;
3. on "409 Conflict" with a ``text/x.tlog.size`` body, retry once from the size the witness
   reports, unless that size is the one just sent (the witness holds another root at that size:
   a fork) or larger than the log (the witness has seen a tree this log never made);
4. check that the answer is signature lines and that one is a valid cosignature/v1 by the given
   witness key over the checkpoint text, with a timestamp not in the future;
5. store that line with the checkpoint, in one write transaction.

Every failure is a ``WitnessClientError`` with a one-line message.
"""

from __future__ import annotations

import base64
import re
import time
from typing import TYPE_CHECKING, Protocol

import httpx
from sqlalchemy import func, select

from ledger import note as _note
from ledger.store import Cosignatures, LedgerError, StoredCheckpoint
from ledger.times import rfc3339_epoch
from ledger.witness import SIZE_CONTENT_TYPE, WitnessConfigError, load_vkey

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractAsyncContextManager

    from sqlalchemy.ext.asyncio import AsyncSession

    from ledger.store import TransparencyLog


class Runtime(Protocol):
    """What cosigning needs of the service: the log, read sessions and write sessions (the
    service's runtime has all three; the ledger names none of the service's modules)."""

    @property
    def log(self) -> TransparencyLog: ...

    @property
    def sessions(self) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]: ...

    @property
    def write_sessions(self) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]: ...


__all__ = ["MAX_FUTURE_SKEW_SECONDS", "WitnessClientError", "request_cosignature"]

MAX_RESPONSE_BYTES = 64 << 10
MAX_FUTURE_SKEW_SECONDS = (
    600  # tlog-cosignature: "verifiers MAY reject ... timestamps in the future"
)
TIMEOUT_SECONDS = 30.0
_SIZE_BODY = re.compile(rb"(0|[1-9][0-9]{0,18})\n")


class WitnessClientError(Exception):
    """The witness did not cosign, or its answer is not a valid cosignature (one line)."""


def _one_line(message: str, limit: int = 300) -> str:
    text = " ".join(message.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _endpoint(url: str) -> str:
    base = url.rstrip("/")
    return base if base.endswith("/add-checkpoint") else base + "/add-checkpoint"


def request_body(old_size: int, proof: list[bytes], note: bytes) -> bytes:
    """The add-checkpoint body: old size line, proof lines, an empty line, the checkpoint."""
    lines = [b"old %d\n" % old_size]
    lines += [base64.b64encode(h) + b"\n" for h in proof]
    return b"".join(lines) + b"\n" + note


async def _last_cosigned_size(runtime: Runtime, witness: _note.Verifier, limit: int) -> int:
    """The largest checkpoint size (<= ``limit``) with a stored cosignature by this key."""
    async with runtime.sessions() as session:
        found = await session.execute(
            select(func.max(Cosignatures.c.checkpoint_size)).where(
                Cosignatures.c.witness_name == witness.name,
                Cosignatures.c.key_id == witness.key_id.to_bytes(4, "big"),
                Cosignatures.c.checkpoint_size <= limit,
            )
        )
        value = found.scalar()
    return 0 if value is None else int(value)


async def _proof(runtime: Runtime, old_size: int, size: int) -> list[bytes]:
    if old_size in (0, size):
        return []
    try:
        async with runtime.sessions() as session:
            return await runtime.log.consistency_proof(session, old_size, size)
    except LedgerError as exc:
        raise WitnessClientError(
            f"cannot prove size {size} consistent with size {old_size}: {_one_line(str(exc))}"
        ) from None


async def _post(http: httpx.AsyncClient, endpoint: str, body: bytes) -> tuple[int, str, bytes]:
    """POST ``body``; the status, content type and at most MAX_RESPONSE_BYTES of the answer."""
    try:
        async with http.stream("POST", endpoint, content=body) as response:
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > MAX_RESPONSE_BYTES:
                    raise WitnessClientError(
                        f"witness {endpoint} answered more than {MAX_RESPONSE_BYTES} bytes"
                    )
            content_type = response.headers.get("content-type", "")
            return response.status_code, content_type, bytes(received)
    except httpx.HTTPError as exc:
        reason = _one_line(str(exc)) or type(exc).__name__
        raise WitnessClientError(f"cannot reach the witness at {endpoint}: {reason}") from None


def _conflict_size(endpoint: str, content_type: str, body: bytes) -> int:
    media_type = content_type.split(";", 1)[0].strip().lower()
    match = _SIZE_BODY.fullmatch(body)
    if media_type != SIZE_CONTENT_TYPE or match is None:
        raise WitnessClientError(
            f"witness {endpoint} answered 409 without a size: expected {SIZE_CONTENT_TYPE} "
            f"'<size>\\n', got {content_type or 'no content type'} {body[:60]!r}"
        )
    return int(match.group(1))


def _refused(
    endpoint: str, status: int, body: bytes, checkpoint: StoredCheckpoint, old: int
) -> str:
    reason = _one_line(body.decode("utf-8", "replace")) or "no reason given"
    phrase = httpx.codes.get_reason_phrase(status)
    return (
        f"witness {endpoint} refused the checkpoint at size {checkpoint.size} (old size {old}): "
        f"{status} {phrase}: {reason}"
    )


def _verify_cosignature(
    endpoint: str, body: bytes, checkpoint: StoredCheckpoint, witness: _note.Verifier
) -> tuple[str, int]:
    """The witness's valid cosignature line (no newline) in a 200 answer, and its timestamp."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessClientError(f"witness {endpoint} answered 200 with non-UTF-8 bytes") from None
    lines = text.split("\n")
    if not text.endswith("\n") or any(
        not line.startswith(_note.SIGNATURE_PREFIX) for line in lines[:-1]
    ):
        raise WitnessClientError(
            f"witness {endpoint} answered 200 without signature lines: got {_one_line(text, 80)!r}"
        )
    try:
        opened = _note.open_note(checkpoint.note + body, [witness])
    except _note.UnverifiedNoteError:
        found = ", ".join(line.split(" ")[1] for line in lines[:-1] if " " in line)
        raise WitnessClientError(
            f"witness {endpoint} answered no cosignature by {witness.name}+{witness.key_id_hex}: "
            f"got signatures by [{found}]"
        ) from None
    except _note.NoteError as exc:
        raise WitnessClientError(
            f"witness {endpoint} answered an invalid cosignature: {_one_line(str(exc))}"
        ) from None
    signature = opened.verified[0]
    timestamp = signature.timestamp
    if timestamp is None:  # pragma: no cover - load_vkey checked the key is a cosigner's
        raise WitnessClientError(f"witness key {witness.name} makes no timestamped cosignatures")
    if timestamp > time.time() + MAX_FUTURE_SKEW_SECONDS:
        raise WitnessClientError(
            f"witness {endpoint} cosigned at {_when(timestamp)}, more than "
            f"{MAX_FUTURE_SKEW_SECONDS} s in the future: is its clock right?"
        )
    return signature.signature.to_line().decode().removesuffix("\n"), timestamp


def _when(timestamp: int) -> str:
    try:
        return rfc3339_epoch(timestamp)
    except (OverflowError, OSError, ValueError):
        return f"POSIX time {timestamp}"


def _witness_key(witness_vkey: str) -> _note.Verifier:
    try:
        verifier = load_vkey(witness_vkey, "witness vkey")
    except WitnessConfigError as exc:
        raise WitnessClientError(str(exc)) from None
    if verifier.kind != "cosignature":
        raise WitnessClientError(
            f"witness vkey {verifier.name}+{verifier.key_id_hex} is a plain Ed25519 key: "
            "expected a cosignature/v1 key (type 0x04)"
        )
    return verifier


async def request_cosignature(
    runtime: Runtime,
    url: str,
    witness_vkey: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Have the witness at ``url`` cosign the latest checkpoint; store and summarise it.

    ``transport`` lets tests talk to a witness app in process.
    """
    witness = _witness_key(witness_vkey)
    endpoint = _endpoint(url)
    try:
        async with runtime.sessions() as session:
            checkpoint = await runtime.log.latest_checkpoint(session)
    except LedgerError as exc:
        raise WitnessClientError(_one_line(str(exc))) from None
    old = await _last_cosigned_size(runtime, witness, checkpoint.size)
    first_old = old
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport) as http:
        for attempt in (1, 2):
            proof = await _proof(runtime, old, checkpoint.size)
            body = request_body(old, proof, checkpoint.note)
            status, content_type, answer = await _post(http, endpoint, body)
            if status == 200:
                break
            if status != 409:
                raise WitnessClientError(_refused(endpoint, status, answer, checkpoint, old))
            known = _conflict_size(endpoint, content_type, answer)
            if known == old:  # sizes agree, so the roots differ
                raise WitnessClientError(
                    f"witness {endpoint} cosigned a different root at size {known} than the "
                    f"log's checkpoint there: the log may have forked"
                )
            if known > checkpoint.size:
                raise WitnessClientError(
                    f"witness {endpoint} has cosigned size {known} for {runtime.log.origin}, "
                    f"larger than the log's latest size {checkpoint.size}: is this the same log?"
                )
            if attempt == 2:
                raise WitnessClientError(
                    f"witness {endpoint} moved from size {old} to {known} while we asked: try again"
                )
            old = known
    line, timestamp = _verify_cosignature(endpoint, answer, checkpoint, witness)
    async with runtime.write_sessions() as session, session.begin():
        await runtime.log.add_cosignature(
            session,
            checkpoint.size,
            witness.name,
            witness.key_id.to_bytes(4, "big"),
            timestamp,
            line,
        )
    retried = f", not {first_old} as stored here" if old != first_old else ""
    return (
        f"{witness.name} cosigned {runtime.log.origin} at size {checkpoint.size} "
        f"(witness was at size {old}{retried}) at {_when(timestamp)}"
    )
