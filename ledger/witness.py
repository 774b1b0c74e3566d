"""A C2SP transparency log witness (c2sp.org/tlog-witness) that makes cosignature/v1 cosignatures.

A witness is configured with a name, a cosigner key and the vkeys of the logs it follows; a log's
origin is its vkey's key name. For each origin it keeps the latest checkpoint it cosigned (size
and root hash) and answers ``POST /add-checkpoint``, whose body is::

    old <size>\\n
    <base64 consistency proof hash>\\n   (zero to 63 lines)
    \\n
    <signed checkpoint note>

The checks run in the order the spec lists them, and each failure has the spec's status code:

* 400 a malformed body or checkpoint, or an old size larger than the checkpoint's size;
* 404 an origin the witness does not follow; 403 no valid signature by a key of that log;
* 409 an old size other than the size last cosigned (body: that size and a newline,
  ``Content-Type: text/x.tlog.size``), or the same size with a different root hash;
* 422 a consistency proof that does not verify (or any proof lines when the old size is 0);
* 413 a body larger than ``MAX_BODY_BYTES``; 200 the cosignature line.

Nothing is cosigned before the new tree head is persisted, and the check against the stored tree
head and the write of the new one form one compare-and-swap: it runs under an asyncio lock and an
``fcntl`` lock on ``DIR/state.lock``, reading ``DIR/state.json`` afresh each time, so that neither
two requests nor two processes on one directory can roll the state back or fork it. The state file
is replaced atomically (temporary file, fsync, ``os.replace``, fsync of the directory).

An old size of 0 is accepted with an empty proof and no consistency check (see
``docs/ledger-merkle-size0.md``): every tree extends the empty one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger import merkle
from ledger import note as _note
from ledger import verify as _verify
from ledger.checkpoint import MAX_TREE_SIZE, Checkpoint, MalformedCheckpointError
from ledger.keys import KeyFileError, load_or_create_key

__all__ = [
    "KEY_FILE",
    "MAX_BODY_BYTES",
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "STATE_FILE",
    "AddCheckpointError",
    "SizeConflictError",
    "TreeHead",
    "Witness",
    "WitnessConfigError",
    "WitnessState",
    "check_tree_head",
    "create_witness_app",
    "load_vkey",
    "parse_add_checkpoint",
    "serve_witness",
    "witness_signer",
]

KEY_FILE = "witness.key"
STATE_FILE = "state.json"
LOCK_FILE = "state.lock"
STATE_VERSION = 1
MAX_PROOF_LINES = (
    63  # tlog-witness: "The client MUST NOT send more than 63 consistency proof lines."
)
#: The largest note ledger.note accepts, plus the old size line and 63 proof lines.
MAX_BODY_BYTES = _note.MAX_NOTE_BYTES + 4096
MAX_VKEY_FILE_BYTES = _note.MAX_KEY_TEXT + 1
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_TEXT = "text/plain; charset=utf-8"
_DECIMAL = re.compile(rb"0|[1-9][0-9]{0,18}")

log = logging.getLogger("corroborate.witness")


class WitnessConfigError(Exception):
    """The witness cannot start or run: bad key file, state file, name or log key (one line)."""


def _one_line(message: str) -> str:
    return " ".join(message.split())


# -- keys --------------------------------------------------------------------------------------


def witness_signer(directory: Path, name: str) -> _note.Signer:
    """The witness's cosignature/v1 key in ``DIR/witness.key``, created (0600) on first use."""
    problem = _note.key_name_problem(name)
    if problem is not None:
        raise WitnessConfigError(f"bad witness name: {problem}")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise WitnessConfigError(
            f"cannot create the witness directory {directory}: {exc}"
        ) from None
    try:
        return load_or_create_key(directory / KEY_FILE, name, kind="cosignature", what="witness")
    except KeyFileError as exc:
        raise WitnessConfigError(str(exc)) from None


def load_vkey(argument: str, what: str) -> _note.Verifier:
    """A vkey given as itself, or as the path of a file holding one (one trailing newline)."""
    try:
        return _verify.load_vkey(argument, what)
    except _verify.VerificationError as exc:
        raise WitnessConfigError(f"the {exc}") from None


def _log_keys(logs: Sequence[str]) -> dict[str, list[_note.Verifier]]:
    """Origin -> the log keys trusted for it, from vkeys (or files) named after their origin."""
    if isinstance(logs, str) or not logs:
        raise WitnessConfigError("a witness needs at least one log vkey (--log VKEY)")
    keys: dict[str, list[_note.Verifier]] = {}
    for number, argument in enumerate(logs, 1):
        verifier = load_vkey(argument, f"log vkey {number}")
        if verifier.kind != "ed25519":
            raise WitnessConfigError(
                f"log vkey {number} ({verifier.name}+{verifier.key_id_hex}) is a cosigner key: "
                "expected a log's Ed25519 signed-note key"
            )
        found = keys.setdefault(verifier.name, [])
        if verifier not in found:
            found.append(verifier)
    return keys


# -- state -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHead:
    """The latest checkpoint the witness cosigned for one log: its size and root hash."""

    size: int
    root_hash: bytes


#: What the witness knows of a log it never cosigned: the empty tree.
EMPTY_TREE = TreeHead(0, merkle.EMPTY_ROOT)


class AddCheckpointError(Exception):
    """An add-checkpoint request refused with an HTTP status; the message is one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SizeConflictError(AddCheckpointError):
    """409: the request does not start from the tree head the witness last cosigned."""

    def __init__(self, known_size: int, message: str) -> None:
        super().__init__(409, message)
        self.known_size = known_size


def check_tree_head(known: TreeHead, old_size: int, new: TreeHead, proof: Sequence[bytes]) -> None:
    """Refuse ``new`` unless it extends ``known`` (409 or 422); pure, no I/O.

    The caller has already checked ``old_size <= new.size`` (400 otherwise).
    """
    if old_size != known.size:
        raise SizeConflictError(
            known.size, f"old size {old_size} is not the size last cosigned, {known.size}"
        )
    if old_size == new.size:
        if proof:
            raise AddCheckpointError(
                422, f"expected no proof lines from size {old_size} to itself, got {len(proof)}"
            )
        if new.root_hash != known.root_hash:
            raise SizeConflictError(
                known.size,
                f"checkpoint at size {new.size} has root {_b64(new.root_hash)}, but the witness "
                f"cosigned root {_b64(known.root_hash)} at that size",
            )
        return
    if old_size == 0:
        if proof:
            raise AddCheckpointError(
                422, f"expected no proof lines from old size 0, got {len(proof)}"
            )
        return
    try:
        merkle.verify_consistency(old_size, new.size, proof, known.root_hash, new.root_hash)
    except merkle.ProofError as exc:
        raise AddCheckpointError(
            422, f"consistency proof from size {old_size} to {new.size} does not verify: {exc}"
        ) from None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, held by this open file description only."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class WitnessState:
    """The latest cosigned tree head per origin, in ``DIR/state.json``.

    ``advance`` is the only writer: under both locks it reads the file, checks the new tree head
    against the stored one (``check_tree_head``) and writes the file before returning, so a
    cosignature is only ever made for a tree head already on disk.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE
        self._lock_path = directory / LOCK_FILE
        self._lock = asyncio.Lock()

    def read(self) -> dict[str, TreeHead]:
        """The stored tree heads (empty before the first cosignature)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise WitnessConfigError(f"cannot read the witness state {self.path}: {exc}") from None
        return self._decode(raw)

    def known(self, origin: str) -> TreeHead:
        return self.read().get(origin, EMPTY_TREE)

    def _decode(self, raw: bytes) -> dict[str, TreeHead]:
        where = f"the witness state {self.path}"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise WitnessConfigError(f"{where} is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise WitnessConfigError(f"{where} is not version {STATE_VERSION} witness state")
        logs = data.get("logs")
        if not isinstance(logs, dict):
            raise WitnessConfigError(f"{where} has no 'logs' object")
        heads: dict[str, TreeHead] = {}
        for origin, entry in logs.items():
            try:
                size = entry["size"]
                root = base64.b64decode(entry["root_hash"], validate=True)
            except (TypeError, KeyError, binascii.Error):
                raise WitnessConfigError(f"{where} has a malformed entry for {origin!r}") from None
            if type(size) is not int or not 0 <= size <= MAX_TREE_SIZE:
                raise WitnessConfigError(f"{where} has size {size!r} for {origin!r}")
            if len(root) != merkle.HASH_SIZE:
                raise WitnessConfigError(
                    f"{where} has a {len(root)}-byte root hash for {origin!r}, expected 32"
                )
            heads[origin] = TreeHead(size, root)
        return heads

    def _write(self, heads: dict[str, TreeHead]) -> None:
        data: dict[str, Any] = {
            "version": STATE_VERSION,
            "logs": {
                origin: {"size": head.size, "root_hash": _b64(head.root_hash)}
                for origin, head in sorted(heads.items())
            },
        }
        encoded = (json.dumps(data, indent=2) + "\n").encode()
        fd, temp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(encoded)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        directory_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)

    def _advance_locked(
        self, origin: str, old_size: int, new: TreeHead, proof: Sequence[bytes]
    ) -> TreeHead:
        with _file_lock(self._lock_path):
            heads = self.read()
            known = heads.get(origin, EMPTY_TREE)
            check_tree_head(known, old_size, new, proof)
            if origin not in heads or known != new:
                heads[origin] = new
                self._write(heads)
            return known

    async def advance(
        self, origin: str, old_size: int, new: TreeHead, proof: Sequence[bytes]
    ) -> TreeHead:
        """Compare-and-swap the stored tree head for ``origin`` to ``new``; return the old one.

        Raises ``SizeConflictError`` or ``AddCheckpointError`` (422) and leaves the file as it
        was. The file lock alone is enough for correctness (each call opens its own descriptor);
        the asyncio lock keeps requests of one process from queueing up threads on it.
        """
        async with self._lock:
            return await asyncio.to_thread(self._advance_locked, origin, old_size, new, proof)


# -- add-checkpoint ----------------------------------------------------------------------------


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], bytes]:
    """Split an add-checkpoint body into old size, proof hashes and note; 400 if malformed."""
    head, blank, note = body.partition(b"\n\n")
    if not blank:
        raise AddCheckpointError(
            400, "expected an 'old <size>' line, proof lines, an empty line, then the checkpoint"
        )
    old_line, *proof_lines = head.split(b"\n")
    if not old_line.startswith(b"old ") or not _DECIMAL.fullmatch(old_line[4:]):
        raise AddCheckpointError(
            400,
            f"expected 'old <size>' (decimal, no leading zeroes) as the first line, "
            f"got {old_line[:40]!r}",
        )
    old_size = int(old_line[4:])
    if old_size > MAX_TREE_SIZE:
        raise AddCheckpointError(400, f"old size must be at most 2^63-1, got {old_size}")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise AddCheckpointError(
            400, f"expected at most {MAX_PROOF_LINES} proof lines, got {len(proof_lines)}"
        )
    proof = [_decode_proof_line(line, number) for number, line in enumerate(proof_lines, 1)]
    return old_size, proof, note


def _decode_proof_line(line: bytes, number: int) -> bytes:
    try:
        raw = base64.b64decode(line, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != merkle.HASH_SIZE or base64.b64encode(raw) != line:
        raise AddCheckpointError(
            400, f"proof line {number} is not a base64 32-byte hash: got {line[:60]!r}"
        )
    return raw


class Witness:
    """The add-checkpoint logic, apart from HTTP: a signer, the trusted log keys, the state."""

    def __init__(
        self,
        signer: _note.Signer,
        log_keys: dict[str, list[_note.Verifier]],
        state: WitnessState,
    ) -> None:
        self.signer = signer
        self.log_keys = log_keys
        self.state = state

    async def add_checkpoint(self, body: bytes) -> bytes:
        """The cosignature line(s) for the checkpoint in ``body``; AddCheckpointError if refused."""
        old_size, proof, note = parse_add_checkpoint(body)
        origin_line = note.split(b"\n", 1)[0]
        try:
            origin = origin_line.decode("utf-8")
        except UnicodeDecodeError:
            raise AddCheckpointError(400, "checkpoint origin line is not UTF-8") from None
        keys = self.log_keys.get(origin)
        if keys is None:
            raise AddCheckpointError(404, f"unknown log origin {origin[:100]!r}")
        try:
            opened = _note.open_note(note, keys)
        except (_note.UnverifiedNoteError, _note.InvalidSignatureError) as exc:
            raise AddCheckpointError(403, _one_line(str(exc))) from None
        except _note.NoteError as exc:
            raise AddCheckpointError(400, _one_line(str(exc))) from None
        try:
            checkpoint = Checkpoint.from_text(opened.text)
        except MalformedCheckpointError as exc:
            raise AddCheckpointError(400, _one_line(str(exc))) from None
        if old_size > checkpoint.size:
            raise AddCheckpointError(
                400, f"old size {old_size} is larger than the checkpoint size {checkpoint.size}"
            )
        new = TreeHead(checkpoint.size, checkpoint.root_hash)
        try:
            await self.state.advance(origin, old_size, new, proof)
        except AddCheckpointError as exc:
            # The log signed this checkpoint: a refusal here may be evidence of misbehaviour.
            log.warning(
                "refused checkpoint",
                extra={
                    "origin": origin,
                    "old_size": old_size,
                    "size": new.size,
                    "status": exc.status,
                    "reason": str(exc),
                    "request": body.decode("utf-8", "replace"),
                },
            )
            raise
        cosignature = self.signer.sign(opened.text, timestamp=int(time.time()))
        log.info(
            "cosigned checkpoint",
            extra={"origin": origin, "old_size": old_size, "size": new.size},
        )
        return cosignature.to_line()

    # -- HTTP --------------------------------------------------------------------------------

    async def http_add_checkpoint(self, request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _too_large()
        chunks: list[bytes] = []
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > MAX_BODY_BYTES:
                return _too_large()
            chunks.append(chunk)
        try:
            lines = await self.add_checkpoint(b"".join(chunks))
        except SizeConflictError as exc:
            # Exactly this media type (Starlette would add "; charset=utf-8" to a media_type).
            size = f"{exc.known_size}\n".encode()
            return Response(size, 409, headers={"content-type": SIZE_CONTENT_TYPE})
        except AddCheckpointError as exc:
            return PlainTextResponse(f"{exc}\n", exc.status)
        return Response(lines, 200, media_type=_TEXT)

    async def http_info(self, request: Request) -> Response:
        origins = "".join(f"log {origin}\n" for origin in sorted(self.log_keys))
        text = f"c2sp.org/tlog-witness\nname {self.signer.name}\nvkey {self.signer.vkey}\n"
        return PlainTextResponse(text + origins)


def _too_large() -> Response:
    return PlainTextResponse(f"request body is larger than {MAX_BODY_BYTES} bytes\n", 413)


def create_witness_app(directory: Path, name: str, logs: Sequence[str]) -> Starlette:
    """The witness's ASGI app: ``POST /add-checkpoint`` and ``GET /`` (name, vkey, origins)."""
    directory = Path(directory)
    keys = _log_keys(logs)  # before the key is made: a bad --log creates nothing
    signer = witness_signer(directory, name)
    state = WitnessState(directory)
    state.read()  # a corrupt state file stops the start, not the first request
    witness = Witness(signer, keys, state)
    routes = [
        Route("/add-checkpoint", witness.http_add_checkpoint, methods=["POST"]),
        Route("/", witness.http_info, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def serve_witness(directory: Path, *, name: str, logs: Sequence[str], host: str, port: int) -> None:
    """Run the witness with uvicorn until interrupted."""
    import uvicorn

    app = create_witness_app(directory, name, logs)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level="info")
