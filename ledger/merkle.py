"""Merkle tree hashing and proofs for an append-only log, as in RFC 9162 §2.1.

Bytes in, bytes out: this module does no I/O and imports only :mod:`hashlib`, so a client can
vendor it as it is.

* Hashing (§2.1.1): a leaf is ``SHA-256(0x00 || data)``, an interior node is
  ``SHA-256(0x01 || left || right)``, and the tree of ``n > 1`` leaves splits at ``k``, the
  largest power of two smaller than ``n``. The empty tree's hash is ``SHA-256("")``.
* Node addresses: ``(level, index)`` names the *perfect* subtree of ``2**level`` leaves covering
  leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. Every
  node of an RFC 9162 tree is either such a perfect subtree or a right-truncated one, and a
  truncated one is the fold of a few perfect subtrees (:func:`subtree_decomposition`,
  :func:`fold_subtrees`).
* Generation (§2.1.3, §2.1.4) is split in two: a *plan* names the perfect subtrees each proof
  element folds from, and the generator reads only those through a :data:`NodeReader`, so the
  storage layer can fetch exactly the tiles it needs (:func:`required_nodes`).
* Verification (§2.1.3.2, §2.1.4.2) follows transparency-dev/merkle and sigstore-python: the
  inclusion path is split into an *inner* part, below the point where the path to the leaf and
  the path to the last leaf diverge, and a *border* part along the tree's right edge.

Proof order is RFC 9162's: the sibling nearest the leaf comes first. A consistency proof omits
the old root when the old size is a power of two.

Size 0 in consistency proofs (see ``docs/ledger-merkle-size0.md``): :func:`verify_consistency`
follows transparency-dev/merkle and rejects ``size1 == 0``, and :func:`consistency_proof_plan`
returns an empty plan for it; a caller that treats every tree as consistent with the empty tree
must decide so before calling the verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MemoryTree",
    "NodeReader",
    "ProofError",
    "consistency_proof",
    "consistency_proof_plan",
    "fold_subtrees",
    "inclusion_proof",
    "inclusion_proof_plan",
    "leaf_hash",
    "node_hash",
    "required_nodes",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_hash",
    "root_plan",
    "subtree_decomposition",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT: bytes = sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeReader = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the perfect subtree of ``2**level`` leaves starting at
leaf ``index * 2**level``."""


class ProofError(ValueError):
    """A proof failed to verify, or a proof was asked for with invalid arguments."""


# --- Hashing (RFC 9162 §2.1.1) ---------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """Hash a log entry as a leaf: ``SHA-256(0x00 || data)``."""
    return sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: ``SHA-256(0x01 || left || right)``."""
    return sha256(_NODE_PREFIX + left + right).digest()


# --- Argument checks -------------------------------------------------------------------------


def _check_count(name: str, value: int) -> None:
    """Require a leaf index or tree size to be a non-negative int (bool is not a count)."""
    if type(value) is not int:
        raise ProofError(f"expected {name} to be an int, got {type(value).__name__}")
    if value < 0:
        raise ProofError(f"expected {name} >= 0, got {value}")


def _check_hash(name: str, value: bytes) -> None:
    """Require one hash to be exactly :data:`HASH_SIZE` bytes."""
    if not isinstance(value, bytes):
        raise ProofError(f"{name} is {type(value).__name__}, expected {HASH_SIZE} bytes")
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, expected {HASH_SIZE}")


def _check_hashes(hashes: Sequence[bytes]) -> None:
    """Require every hash of a proof (or of a list of subtree hashes) to be a whole hash."""
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            _check_hash(f"hash {i}", h)


# --- Ranges and perfect subtrees -------------------------------------------------------------


def subtree_decomposition(start: int, end: int) -> list[tuple[int, int]]:
    """Split the tree node covering leaves ``[start, end)`` into perfect subtrees.

    The range must be a node of an RFC 9162 tree, possibly truncated on the right: non-empty,
    and ``start`` a multiple of the smallest power of two ``>= end - start``. The result lists
    ``(level, index)`` left to right, largest first: one subtree per set bit of ``end - start``.
    """
    _check_count("start", start)
    _check_count("end", end)
    if end <= start:
        raise ProofError(f"expected a non-empty range, got [{start}, {end})")
    size = end - start
    alignment = 1 << (size - 1).bit_length()
    if start % alignment:
        raise ProofError(
            f"range [{start}, {end}) is not a node of the tree: expected start to be a "
            f"multiple of {alignment}, got {start}"
        )
    plan: list[tuple[int, int]] = []
    position = start
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            plan.append((level, position >> level))
            position += 1 << level
    return plan


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Hash a node from the hashes of its perfect subtrees, given left to right.

    The subtrees of a right-truncated node shrink to the right, so the RFC recursion reduces to
    a fold from the right: ``h1`` if there is one hash, else ``node_hash(h1, fold(rest))``.
    """
    if not hashes:
        raise ProofError("expected at least 1 subtree hash, got 0")
    _check_hashes(hashes)
    result = hashes[-1]
    for i in range(len(hashes) - 2, -1, -1):
        result = sha256(_NODE_PREFIX + hashes[i] + result).digest()
    return result


def _ranges_to_root(level: int, index: int, size: int) -> list[tuple[int, int]]:
    """List the sibling ranges on the path from node ``(level, index)`` up to the root.

    Walks up from the node; at each level the sibling ``index ^ 1`` covers a range of the tree
    of ``size`` leaves unless it starts at or after ``size`` (the node is then the last one on
    its level and is carried up unchanged). A sibling reaching past ``size`` is truncated.
    Ranges come nearest the node first, as ``[start, end)`` pairs.
    """
    ranges: list[tuple[int, int]] = []
    while (1 << level) < size:
        sibling_start = (index ^ 1) << level
        if sibling_start < size:
            ranges.append((sibling_start, min(sibling_start + (1 << level), size)))
        level += 1
        index >>= 1
    return ranges


# --- Plans: which perfect subtrees each proof element folds from -----------------------------


def root_plan(size: int) -> list[tuple[int, int]]:
    """Name the perfect subtrees whose fold is the root of a tree of ``size`` leaves.

    The empty tree has no subtrees; its root is :data:`EMPTY_ROOT`.
    """
    _check_count("tree size", size)
    return subtree_decomposition(0, size) if size else []


def inclusion_proof_plan(index: int, size: int) -> list[list[tuple[int, int]]]:
    """Plan the RFC 9162 inclusion proof (§2.1.3.1) for leaf ``index`` in a tree of ``size``.

    One entry per proof element, sibling nearest the leaf first; each entry lists the perfect
    subtrees whose :func:`fold_subtrees` gives that element. Only the sibling on the tree's
    right edge can be truncated, so all entries together name O(log size) subtrees.
    """
    _check_count("leaf index", index)
    _check_count("tree size", size)
    if index >= size:
        raise ProofError(f"expected leaf index < tree size {size}, got {index}")
    return [subtree_decomposition(start, end) for start, end in _ranges_to_root(0, index, size)]


def consistency_proof_plan(size1: int, size2: int) -> list[list[tuple[int, int]]]:
    """Plan the RFC 9162 consistency proof (§2.1.4.1) from ``size1`` to ``size2`` leaves.

    The proof is the inclusion path, in the tree of ``size2``, of the largest perfect subtree
    ending at leaf ``size1``, preceded by that subtree's hash unless it is the whole old tree
    (``size1`` a power of two; the verifier knows the old root). Equal sizes and ``size1 == 0``
    need no proof and give ``[]``.
    """
    _check_count("size1", size1)
    _check_count("size2", size2)
    if size1 > size2:
        raise ProofError(f"expected size1 <= size2, got size1 {size1} > size2 {size2}")
    if size1 == 0 or size1 == size2:
        return []
    level = (size1 & -size1).bit_length() - 1  # the old tree's last perfect subtree
    index = (size1 - 1) >> level
    plan = [] if index == 0 else [[(level, index)]]
    plan.extend(
        subtree_decomposition(start, end) for start, end in _ranges_to_root(level, index, size2)
    )
    return plan


def required_nodes(plans: Iterable[list[tuple[int, int]]]) -> set[tuple[int, int]]:
    """Collect every ``(level, index)`` named by some plans, for prefetching their tiles."""
    nodes: set[tuple[int, int]] = set()
    for plan in plans:
        nodes.update(plan)
    return nodes


# --- Generation through a NodeReader ---------------------------------------------------------


def _read_plan(plan: list[list[tuple[int, int]]], node: NodeReader) -> list[bytes]:
    """Fold each proof element from the node hashes its plan names, reading each node once."""
    return [fold_subtrees([node(level, index) for level, index in element]) for element in plan]


def root_hash(size: int, node: NodeReader) -> bytes:
    """Compute the root of the tree of ``size`` leaves, reading only its perfect subtrees."""
    plan = root_plan(size)
    if not plan:
        return EMPTY_ROOT
    return fold_subtrees([node(level, index) for level, index in plan])


def inclusion_proof(index: int, size: int, node: NodeReader) -> list[bytes]:
    """Build the inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
    return _read_plan(inclusion_proof_plan(index, size), node)


def consistency_proof(size1: int, size2: int, node: NodeReader) -> list[bytes]:
    """Build the consistency proof from the tree of ``size1`` leaves to that of ``size2``."""
    return _read_plan(consistency_proof_plan(size1, size2), node)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Compute MTH(D[n]) from all leaf hashes by the RFC's recursion; O(n), for reference."""
    _check_hashes(hashes)
    if not hashes:
        return EMPTY_ROOT
    return _mth(hashes, 0, len(hashes))


def _mth(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a non-empty range: split at the largest power of two below n."""
    n = end - start
    if n == 1:
        return hashes[start]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(_mth(hashes, start, start + k), _mth(hashes, start + k, end))


# --- Verification (RFC 9162 §2.1.3.2, §2.1.4.2) ----------------------------------------------


def _decomp_inclusion_proof(index: int, size: int) -> tuple[int, int]:
    """Split the inclusion proof length for leaf ``index`` of ``size`` into (inner, border).

    Assumes ``0 <= index < size``. The *inner* part sits below the node where the paths to leaf
    ``index`` and to leaf ``size - 1`` diverge; the *border* part consists of the left
    siblings along the right edge above it, one per set bit of ``index`` above that level.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], start: int, end: int, index: int) -> bytes:
    """Hash ``seed`` up through ``proof[start:end]`` (lowest first), the node at ``index``.

    Bit ``i`` of ``index`` says whether the ``i``-th hash is a left (1) or right (0) sibling.
    """
    for i in range(start, end):
        if (index >> (i - start)) & 1:
            seed = sha256(_NODE_PREFIX + proof[i] + seed).digest()
        else:
            seed = sha256(_NODE_PREFIX + seed + proof[i]).digest()
    return seed


def _chain_inner_right(
    seed: bytes, proof: Sequence[bytes], start: int, end: int, index: int
) -> bytes:
    """Like :func:`_chain_inner`, but take only the left siblings.

    Dropping the right siblings gives the hash of the same subtree as it was in the smaller,
    older tree whose last leaf is on this path.
    """
    for i in range(start, end):
        if (index >> (i - start)) & 1:
            seed = sha256(_NODE_PREFIX + proof[i] + seed).digest()
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes], start: int, end: int) -> bytes:
    """Hash ``seed`` up the tree's right edge: every hash in ``proof[start:end]`` is a left
    sibling."""
    for i in range(start, end):
        seed = sha256(_NODE_PREFIX + proof[i] + seed).digest()
    return seed


def _verify_match(name: str, calculated: bytes, expected: bytes) -> None:
    """Require a recomputed root to equal the one given."""
    if calculated != expected:
        raise ProofError(
            f"{name} mismatch: expected {_show(expected)}, proof gives {_show(calculated)}"
        )


def _show(value: bytes) -> str:
    """Render a hash for an error message (hex, or repr if it is not bytes at all)."""
    return value.hex() if isinstance(value, bytes) else repr(value)


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Recompute the root of the tree of ``size`` leaves from leaf ``index`` and its proof."""
    _check_count("leaf index", index)
    _check_count("tree size", size)
    if index >= size:
        raise ProofError(f"expected leaf index < tree size {size}, got {index}")
    _check_hash("leaf hash", leaf_hash)
    inner, border = _decomp_inclusion_proof(index, size)
    if len(proof) != inner + border:
        raise ProofError(
            f"expected {inner + border} hashes in the inclusion proof for leaf {index} "
            f"of tree size {size}, got {len(proof)}"
        )
    _check_hashes(proof)
    result = _chain_inner(leaf_hash, proof, 0, inner, index)
    return _chain_border_right(result, proof, inner, inner + border)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf ``index`` with hash ``leaf_hash`` is in the tree of ``size`` with ``root``.

    Raises :class:`ProofError` saying what was expected and what arrived.
    """
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    _check_hash("root", root)
    _verify_match("root", calculated, root)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` with ``root1`` is a prefix of ``size2`` with ``root2``.

    Edge cases are transparency-dev/merkle's, so that all its vectors pass: ``size1 > size2``
    and ``size1 == 0`` (even ``0 == size2``) are errors; equal sizes need an empty proof and
    byte-equal roots (compared as they are, since no hashing happens). Otherwise every hash must
    be 32 bytes and the proof exactly as long as RFC 9162 makes it.
    """
    _check_count("size1", size1)
    _check_count("size2", size2)
    if size1 > size2:
        raise ProofError(f"expected size1 <= size2, got size1 {size1} > size2 {size2}")
    if size1 == 0:
        raise ProofError(
            f"expected size1 > 0, got 0 (with size2 {size2}): a consistency proof from the "
            "empty tree proves nothing; handle old size 0 before verifying"
        )
    if size1 == size2:
        if proof:
            raise ProofError(f"expected 0 hashes for equal sizes {size1}, got {len(proof)}")
        _verify_match("root2", root1, root2)  # with nothing to hash, root1 is what we have
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)

    # The proof is the inclusion path of the old tree's last perfect subtree, at level `shift`,
    # in the new tree: leaf size1 - 1's path with its lowest `shift` levels cut off.
    inner, border = _decomp_inclusion_proof(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    if size1 == 1 << shift:  # that subtree is the whole old tree: its hash is root1
        seed, start = root1, 0
    else:
        if not proof:
            raise ProofError(
                f"expected {1 + inner + border} hashes in the consistency proof from size "
                f"{size1} to {size2}, got 0"
            )
        seed, start = proof[0], 1
    expected = start + inner + border
    if len(proof) != expected:
        raise ProofError(
            f"expected {expected} hashes in the consistency proof from size {size1} "
            f"to {size2}, got {len(proof)}"
        )
    _check_hashes(proof)

    mask = (size1 - 1) >> shift
    middle = start + inner
    hash1 = _chain_inner_right(seed, proof, start, middle, mask)
    hash1 = _chain_border_right(hash1, proof, middle, expected)
    _verify_match("root1", hash1, root1)
    hash2 = _chain_inner(seed, proof, start, middle, mask)
    hash2 = _chain_border_right(hash2, proof, middle, expected)
    _verify_match("root2", hash2, root2)


# --- A small tree in memory ------------------------------------------------------------------


class MemoryTree:
    """An append-only tree of leaf hashes in memory, keeping every perfect subtree's hash.

    For tests, and for building proofs over a list of leaves. ``node`` is a :data:`NodeReader`;
    proofs and roots can be asked for any size up to the current one.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    def append(self, leaf_hash: bytes) -> None:
        """Add a leaf hash, and hash every perfect subtree it completes."""
        _check_hash(f"leaf hash {len(self._levels[0])}", leaf_hash)
        levels = self._levels
        levels[0].append(leaf_hash)
        level = 0
        while len(levels[level]) % 2 == 0:
            row = levels[level]
            parent = node_hash(row[-2], row[-1])
            if level + 1 == len(levels):
                levels.append([])
            levels[level + 1].append(parent)
            level += 1

    @property
    def size(self) -> int:
        """The number of leaves."""
        return len(self._levels[0])

    def node(self, level: int, index: int) -> bytes:
        """Return the hash of the perfect subtree ``(level, index)``, which must be complete."""
        if level < 0 or index < 0 or level >= len(self._levels):
            raise ProofError(
                f"expected a complete subtree of a tree of {self.size} leaves, "
                f"got level {level} index {index}"
            )
        row = self._levels[level]
        if index >= len(row):
            raise ProofError(
                f"expected index < {len(row)} at level {level} of a tree of {self.size} "
                f"leaves, got {index}"
            )
        return row[index]

    def _size_or_current(self, size: int | None) -> int:
        """Default a requested tree size to the current one; refuse sizes not reached yet."""
        if size is None:
            return self.size
        _check_count("tree size", size)
        if size > self.size:
            raise ProofError(f"expected tree size <= {self.size}, got {size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree at ``size`` leaves (default: all of them)."""
        return root_hash(self._size_or_current(size), self.node)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof for leaf ``index`` in the tree at ``size`` leaves."""
        return inclusion_proof(index, self._size_or_current(size), self.node)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """The consistency proof from ``size1`` to ``size2`` leaves (default: all of them)."""
        return consistency_proof(size1, self._size_or_current(size2), self.node)
