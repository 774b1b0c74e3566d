"""Tests for ledger.merkle: conformance vectors, the RFC 6962 reference tree, the RFC recursion
as an independent oracle, exhaustive small trees, huge synthetic trees, and bad inputs."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path

import pytest

from ledger import merkle
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryTree,
    ProofError,
    consistency_proof,
    consistency_proof_plan,
    fold_subtrees,
    inclusion_proof,
    inclusion_proof_plan,
    leaf_hash,
    node_hash,
    required_nodes,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_hash,
    root_plan,
    subtree_decomposition,
    verify_consistency,
    verify_inclusion,
)

from .vectors import LOCAL_TLOG, SHARED_TLOG, vectors_dir

TLOG = vectors_dir()
PROBE_DIR = TLOG / "merkle/transparency-dev-testdata"
PROBES = sorted(p.relative_to(PROBE_DIR).as_posix() for p in PROBE_DIR.rglob("*.json"))
REFERENCE = json.loads((TLOG / "merkle/rfc6962-reference-tree.json").read_text())


def leaves(n: int) -> list[bytes]:
    """Leaf hashes of a test tree whose entry i is i as 4 big-endian bytes."""
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


LEAVES = leaves(130)
BIG_TREE = MemoryTree(LEAVES)


def flip(h: bytes, bit: int) -> bytes:
    """Return ``h`` with one bit flipped."""
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def raises(fn, *args) -> str:
    """Call fn, require a ProofError, and return its message."""
    with pytest.raises(ProofError) as info:
        fn(*args)
    return str(info.value)


# --- An independent oracle: RFC 9162 §2.1 written as recursion over lists ---------------------


def rfc_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:])).digest()


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [rfc_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


# --- Vectors: the copy, and every transparency-dev probe ---------------------------------------


def test_vector_copy_is_verbatim():
    if not SHARED_TLOG.is_dir():
        pytest.skip(f"{SHARED_TLOG} not present; nothing to compare the copy with")
    shared = {p.relative_to(SHARED_TLOG) for p in SHARED_TLOG.rglob("*") if p.is_file()}
    local = {
        p.relative_to(LOCAL_TLOG)
        for p in LOCAL_TLOG.rglob("*")
        if p.is_file() and p.name != "LICENSES.md"
    }
    assert local == shared
    for rel in sorted(shared):
        assert (LOCAL_TLOG / rel).read_bytes() == (SHARED_TLOG / rel).read_bytes(), rel
    assert (LOCAL_TLOG / "LICENSES.md").is_file()


def test_transparency_dev_probe_count_is_196():
    assert len(PROBES) == 196
    assert sum(p.startswith("inclusion/") for p in PROBES) == 98
    assert sum(p.startswith("consistency/") for p in PROBES) == 98


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value is not None else b""


def check_probe(rel: str) -> None:
    """Run one transparency-dev probe through our verifier."""
    probe = json.loads((PROBE_DIR / rel).read_text())
    proof = [_b64(h) for h in probe["proof"] or []]  # Go writes a nil proof as null
    if rel.startswith("inclusion/"):
        verify_inclusion(
            _b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof, _b64(probe["root"])
        )
    else:
        verify_consistency(
            probe["size1"], probe["size2"], proof, _b64(probe["root1"]), _b64(probe["root2"])
        )


@pytest.mark.parametrize("rel", PROBES)
def test_transparency_dev_probe(rel: str):
    if json.loads((PROBE_DIR / rel).read_text())["wantErr"]:
        with pytest.raises(ProofError):
            check_probe(rel)
    else:
        check_probe(rel)


# --- The RFC 6962 reference tree ---------------------------------------------------------------

REF_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in REFERENCE["leaf_inputs_hex"]]
REF_TREE = MemoryTree(REF_LEAVES)


def test_empty_root_is_sha256_of_nothing():
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == REFERENCE["roots_by_size_hex"][0]
    assert HASH_SIZE == 32


def test_reference_tree_leaf_hashes():
    assert [h.hex() for h in REF_LEAVES] == REFERENCE["node_hashes_by_level_hex"][0]


def test_reference_tree_every_node_per_level():
    for level, row in enumerate(REFERENCE["node_hashes_by_level_hex"]):
        assert [REF_TREE.node(level, i).hex() for i in range(len(row))] == row


def test_reference_tree_roots_for_sizes_0_to_8():
    for size, want in enumerate(REFERENCE["roots_by_size_hex"]):
        assert REF_TREE.root(size).hex() == want
        assert root_hash(size, REF_TREE.node).hex() == want
        assert root_from_leaf_hashes(REF_LEAVES[:size]).hex() == want
        assert MemoryTree(REF_LEAVES[:size]).root().hex() == want


@pytest.mark.parametrize(
    "case", REFERENCE["inclusion_proofs"], ids=lambda c: f"{c['leaf_index']}-of-{c['tree_size']}"
)
def test_reference_inclusion_proof_is_generated_byte_for_byte(case):
    index, size = case["leaf_index"], case["tree_size"]
    proof = REF_TREE.inclusion_proof(index, size)
    assert [h.hex() for h in proof] == case["proof_hex"]
    verify_inclusion(REF_LEAVES[index], index, size, proof, REF_TREE.root(size))


@pytest.mark.parametrize(
    "case", REFERENCE["consistency_proofs"], ids=lambda c: f"{c['size1']}-to-{c['size2']}"
)
def test_reference_consistency_proof_is_generated_byte_for_byte(case):
    size1, size2 = case["size1"], case["size2"]
    proof = REF_TREE.consistency_proof(size1, size2)
    assert [h.hex() for h in proof] == case["proof_hex"]
    verify_consistency(size1, size2, proof, REF_TREE.root(size1), REF_TREE.root(size2))


def test_mtc_subtree_hash_accumulator():
    """draft-ietf-plants-merkle-tree-certs Appendix C.1.1, through subtree_decomposition.

    The draft counts every empty range [s, s) as a valid subtree hashing to SHA-256("");
    subtree_decomposition refuses empty ranges, so they are written here directly.
    """
    acc = REFERENCE["subtree_hash_accumulator"]
    d = [leaf_hash(bytes([i])) for i in range(130)]
    tree = MemoryTree(d)
    h = hashlib.sha256()
    for end in range(131):
        for start in range(end + 1):
            if start == end:
                mth = EMPTY_ROOT
            else:
                try:
                    plan = subtree_decomposition(start, end)
                except ProofError:
                    continue
                mth = fold_subtrees([tree.node(level, i) for level, i in plan])
            h.update(f"[{start}, {end}) {mth.hex()}\n".encode())
    assert h.hexdigest() == acc["want_hex"]


# --- Generation agrees with the RFC recursion --------------------------------------------------


def test_generated_inclusion_proofs_equal_rfc_path():
    for size in range(1, 41):
        d = LEAVES[:size]
        for index in range(size):
            assert BIG_TREE.inclusion_proof(index, size) == rfc_path(index, d), (index, size)


def test_generated_consistency_proofs_equal_rfc_subproof():
    for size2 in range(1, 41):
        d = LEAVES[:size2]
        for size1 in range(1, size2 + 1):
            want = rfc_subproof(size1, d, True)
            assert BIG_TREE.consistency_proof(size1, size2) == want, (size1, size2)


def test_root_hash_from_node_reader_equals_root_from_leaf_hashes():
    d = LEAVES
    for size in range(131):
        want = root_from_leaf_hashes(d[:size])
        assert root_hash(size, BIG_TREE.node) == want
        assert want == rfc_mth(d[:size])


# --- Properties over every small tree ----------------------------------------------------------

ROOTS = [BIG_TREE.root(size) for size in range(131)]
ZERO = bytes(HASH_SIZE)


def test_every_inclusion_proof_up_to_130_verifies_and_resizing_it_fails():
    d = LEAVES
    for size in range(1, 131):
        root = ROOTS[size]
        for index in range(size):
            proof = BIG_TREE.inclusion_proof(index, size)
            verify_inclusion(d[index], index, size, proof, root)
            assert root_from_inclusion_proof(d[index], index, size, proof) == root
            for bad in (proof[:-1], [*proof, ZERO], [ZERO, *proof]):
                if bad != proof:
                    with pytest.raises(ProofError, match="hashes in the inclusion proof"):
                        verify_inclusion(d[index], index, size, bad, root)


def _inclusion_cases():
    rng = random.Random(9162)
    for size in range(1, 131):
        indices = {0, size - 1, size // 2, rng.randrange(size)}
        yield from ((index, size) for index in sorted(indices))


def test_flipping_any_bit_breaks_an_inclusion_proof():
    d = LEAVES
    for index, size in _inclusion_cases():
        proof, root = BIG_TREE.inclusion_proof(index, size), ROOTS[size]
        # Every bit in small trees, one bit per byte (cycling through bit positions) beyond.
        bits = range(256) if size <= 9 else range(0, 256, 9)
        for bit in bits:
            for i in range(len(proof)):
                bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
                with pytest.raises(ProofError, match="root mismatch"):
                    verify_inclusion(d[index], index, size, bad, root)
            with pytest.raises(ProofError, match="root mismatch"):
                verify_inclusion(flip(d[index], bit), index, size, proof, root)
            with pytest.raises(ProofError, match="root mismatch"):
                verify_inclusion(d[index], index, size, proof, flip(root, bit))


def test_inclusion_proof_for_the_wrong_index_or_size_fails():
    d = LEAVES
    for index, size in _inclusion_cases():
        proof, root = BIG_TREE.inclusion_proof(index, size), ROOTS[size]
        for other in (index - 1, index + 1, index ^ 2):
            if 0 <= other < size and other != index:
                with pytest.raises(ProofError):
                    verify_inclusion(d[index], other, size, proof, root)
        for other_size in (size * 2, size // 2):
            if index < other_size:
                with pytest.raises(ProofError):
                    verify_inclusion(d[index], index, other_size, proof, root)


def test_an_inclusion_proof_alone_does_not_pin_the_tree_size():
    """Leaf 0 of 3 and leaf 0 of 4 take the same shape of proof (two right siblings), so the
    size-3 proof also checks out as 'size 4' against the size-3 root. Nothing false is proven
    about the root, but the size must come from the signed checkpoint, not from the proof."""
    proof = BIG_TREE.inclusion_proof(0, 3)
    verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[3])
    with pytest.raises(ProofError, match="root mismatch"):
        verify_inclusion(LEAVES[0], 0, 4, proof, ROOTS[4])


def test_every_consistency_proof_up_to_70_verifies_and_resizing_it_fails():
    for size2 in range(1, 71):
        for size1 in range(1, size2 + 1):
            proof = BIG_TREE.consistency_proof(size1, size2)
            verify_consistency(size1, size2, proof, ROOTS[size1], ROOTS[size2])
            for bad in (proof[:-1], [*proof, ZERO], [ZERO, *proof]):
                if bad != proof:
                    with pytest.raises(ProofError, match=r"expected \d+ hashes"):
                        verify_consistency(size1, size2, bad, ROOTS[size1], ROOTS[size2])


def test_flipping_any_bit_breaks_a_consistency_proof():
    for size2 in range(2, 71):
        for size1 in range(1, size2):
            if size2 > 24 and (size1 * 7 + size2) % 5:
                continue  # every pair up to 24, a fifth of them beyond
            proof = BIG_TREE.consistency_proof(size1, size2)
            root1, root2 = ROOTS[size1], ROOTS[size2]
            bits = range(256) if size2 <= 8 else range(size1 % 9, 256, 9)
            for bit in bits:
                for i in range(len(proof)):
                    bad = [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]
                    with pytest.raises(ProofError, match="mismatch"):
                        verify_consistency(size1, size2, bad, root1, root2)
                with pytest.raises(ProofError, match="mismatch"):
                    verify_consistency(size1, size2, proof, flip(root1, bit), root2)
                with pytest.raises(ProofError, match="mismatch"):
                    verify_consistency(size1, size2, proof, root1, flip(root2, bit))


def test_consistency_proof_for_other_sizes_or_swapped_roots_fails():
    for size2 in range(2, 40):
        for size1 in range(1, size2):
            proof = BIG_TREE.consistency_proof(size1, size2)
            root1, root2 = ROOTS[size1], ROOTS[size2]
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, proof, root2, root1)
            for s1, s2 in ((size1 - 1, size2), (size1 + 1, size2), (size1, size2 + 1)):
                if 0 < s1 < s2 <= 130 and (s1, s2) != (size1, size2):
                    with pytest.raises(ProofError):
                        verify_consistency(s1, s2, proof, ROOTS[s1], ROOTS[s2])


# --- Plans and node reads ----------------------------------------------------------------------


class CountingReader:
    """A NodeReader over a MemoryTree that records every node read."""

    def __init__(self, tree: MemoryTree) -> None:
        self.tree = tree
        self.calls: list[tuple[int, int]] = []

    def __call__(self, level: int, index: int) -> bytes:
        self.calls.append((level, index))
        return self.tree.node(level, index)


def test_generators_read_each_planned_node_once_and_nothing_else():
    for size in range(1, 131):
        for index in range(size):
            reader = CountingReader(BIG_TREE)
            inclusion_proof(index, size, reader)
            plan = inclusion_proof_plan(index, size)
            assert reader.calls == [n for element in plan for n in element]
            assert len(set(reader.calls)) == len(reader.calls)
            assert required_nodes(plan) == set(reader.calls)
        for size1 in range(0, size + 1):
            reader = CountingReader(BIG_TREE)
            consistency_proof(size1, size, reader)
            plan = consistency_proof_plan(size1, size)
            assert reader.calls == [n for element in plan for n in element]
            assert len(set(reader.calls)) == len(reader.calls)
        reader = CountingReader(BIG_TREE)
        root_hash(size, reader)
        assert reader.calls == root_plan(size)


def test_plans_stay_logarithmic_for_huge_trees():
    rng = random.Random(6962)
    for _ in range(200):
        size = rng.randrange(1, 1 << 62)
        index = rng.randrange(size)
        size1 = rng.randrange(1, size + 1)
        bound = 2 * size.bit_length()
        assert len(required_nodes(inclusion_proof_plan(index, size))) <= bound
        assert len(required_nodes(consistency_proof_plan(size1, size))) <= bound + 1
        assert len(root_plan(size)) == size.bit_count()


class OneLeafTree:
    """A consistent NodeReader for a tree of any size where every leaf is leaf_hash(b"") except
    leaf ``special``: each node hash costs O(1) after O(64) set-up, so trees of 2**50 leaves
    can be proven and verified."""

    def __init__(self, special: int) -> None:
        self.special = special
        self.plain = [leaf_hash(b"")]
        self.path = [leaf_hash(b"special")]
        for level in range(1, 64):
            below = self.plain[-1]
            self.plain.append(node_hash(below, below))
            if (special >> (level - 1)) & 1:
                self.path.append(node_hash(below, self.path[-1]))
            else:
                self.path.append(node_hash(self.path[-1], below))

    def __call__(self, level: int, index: int) -> bytes:
        return self.path[level] if index == self.special >> level else self.plain[level]


def test_proofs_for_trees_of_quadrillions_of_leaves_verify():
    rng = random.Random(2021)
    for _ in range(50):
        size = rng.randrange(1 << 40, 1 << 52)
        special = rng.randrange(size)
        node = OneLeafTree(special)
        root = root_hash(size, node)
        proof_of_special = inclusion_proof(special, size, node)
        for index, leaf in ((special, node.path[0]), (rng.randrange(size), node.plain[0])):
            if index == special and leaf == node.plain[0]:
                continue
            proof = inclusion_proof(index, size, node)
            verify_inclusion(leaf, index, size, proof, root)
        if special ^ 1 < size:  # the special leaf's left/right position is checked
            with pytest.raises(ProofError):
                verify_inclusion(node.path[0], special ^ 1, size, proof_of_special, root)
        size1 = rng.randrange(1, size)
        proof = consistency_proof(size1, size, node)
        verify_consistency(size1, size, proof, root_hash(size1, node), root)
        with pytest.raises(ProofError):
            verify_consistency(size1, size, proof, root_hash(size1 + 1, node), root)


def test_subtree_decomposition_of_truncated_and_whole_nodes():
    assert subtree_decomposition(0, 8) == [(3, 0)]
    assert subtree_decomposition(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert subtree_decomposition(8, 13) == [(2, 2), (0, 12)]
    assert subtree_decomposition(6, 7) == [(0, 6)]
    assert subtree_decomposition(128, 130) == [(1, 64)]
    assert root_plan(0) == []
    assert root_plan(130) == [(7, 0), (1, 64)]


def test_fold_subtrees_folds_from_the_right():
    a, b, c = leaves(3)
    assert fold_subtrees([a]) == a
    assert fold_subtrees([a, b, c]) == node_hash(a, node_hash(b, c))


def test_consistency_plan_omits_the_old_root_only_for_powers_of_two():
    assert consistency_proof_plan(4, 8) == [[(2, 1)]]
    assert consistency_proof_plan(6, 8) == [[(1, 2)], [(1, 3)], [(2, 0)]]
    assert consistency_proof_plan(6, 7) == [[(1, 2)], [(0, 6)], [(2, 0)]]
    assert consistency_proof_plan(3, 3) == []


# --- Size 0 policy -----------------------------------------------------------------------------


def test_consistency_from_the_empty_tree_is_not_generated_and_not_verified():
    assert consistency_proof_plan(0, 0) == []
    assert consistency_proof_plan(0, 130) == []
    assert BIG_TREE.consistency_proof(0) == []
    msg = raises(verify_consistency, 0, 5, [], EMPTY_ROOT, ROOTS[5])
    assert "expected size1 > 0, got 0" in msg
    # transparency-dev rejects size1 == 0 even when size2 == 0 and the roots agree.
    assert "expected size1 > 0" in raises(verify_consistency, 0, 0, [], EMPTY_ROOT, EMPTY_ROOT)


def test_empty_tree_root_and_no_inclusion():
    assert MemoryTree().root() == EMPTY_ROOT
    assert root_hash(0, BIG_TREE.node) == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    msg = raises(verify_inclusion, ZERO, 0, 0, [], EMPTY_ROOT)
    assert msg == "expected leaf index < tree size 0, got 0"


# --- Bad inputs: every error says what was expected and what arrived ---------------------------

D8 = LEAVES[:8]
P08 = BIG_TREE.inclusion_proof(0, 8)


def test_short_leaf_hash_is_rejected():
    msg = raises(verify_inclusion, b"WrongLeaf", 0, 8, P08, ROOTS[8])
    assert msg == "leaf hash is 9 bytes, expected 32"


def test_short_proof_hash_is_rejected():
    msg = raises(verify_inclusion, D8[0], 0, 8, [P08[0], P08[1][:-1], P08[2]], ROOTS[8])
    assert msg == "hash 1 is 31 bytes, expected 32"


def test_long_root_is_rejected():
    msg = raises(verify_inclusion, D8[0], 0, 8, P08, ROOTS[8] + b"\x00")
    assert msg == "root is 33 bytes, expected 32"


def test_non_bytes_hash_is_rejected():
    msg = raises(verify_inclusion, D8[0], 0, 8, [P08[0], "x" * 32, P08[2]], ROOTS[8])
    assert msg == "hash 1 is str, expected 32 bytes"


def test_index_at_or_beyond_size_is_rejected():
    assert raises(verify_inclusion, D8[0], 8, 8, P08, ROOTS[8]) == (
        "expected leaf index < tree size 8, got 8"
    )
    assert raises(inclusion_proof_plan, 9, 8) == "expected leaf index < tree size 8, got 9"
    assert raises(verify_inclusion, D8[0], 2**64 - 1, 1, [], ROOTS[1]) == (
        "expected leaf index < tree size 1, got 18446744073709551615"
    )


def test_negative_numbers_are_rejected():
    assert raises(verify_inclusion, D8[0], -1, 8, P08, ROOTS[8]) == (
        "expected leaf index >= 0, got -1"
    )
    assert raises(inclusion_proof_plan, 0, -3) == "expected tree size >= 0, got -3"
    assert raises(verify_consistency, -1, 8, [], ROOTS[1], ROOTS[8]) == (
        "expected size1 >= 0, got -1"
    )
    assert raises(consistency_proof_plan, 1, -8) == "expected size2 >= 0, got -8"
    assert raises(root_plan, -1) == "expected tree size >= 0, got -1"
    assert raises(subtree_decomposition, -4, 0) == "expected start >= 0, got -4"


def test_bool_is_not_a_count():
    assert raises(inclusion_proof_plan, True, 8) == "expected leaf index to be an int, got bool"


def test_size1_greater_than_size2_is_rejected():
    want = "expected size1 <= size2, got size1 5 > size2 4"
    assert raises(verify_consistency, 5, 4, [], ROOTS[5], ROOTS[4]) == want
    assert raises(consistency_proof_plan, 5, 4) == want


def test_inclusion_proof_too_short_or_too_long_says_how_long_it_should_be():
    msg = raises(verify_inclusion, D8[0], 0, 8, P08[:2], ROOTS[8])
    assert msg == "expected 3 hashes in the inclusion proof for leaf 0 of tree size 8, got 2"
    msg = raises(verify_inclusion, D8[0], 0, 8, [*P08, ZERO], ROOTS[8])
    assert msg == "expected 3 hashes in the inclusion proof for leaf 0 of tree size 8, got 4"


def test_consistency_proof_too_short_or_too_long_says_how_long_it_should_be():
    proof = BIG_TREE.consistency_proof(6, 8)
    msg = raises(verify_consistency, 6, 8, proof[:2], ROOTS[6], ROOTS[8])
    assert msg == "expected 3 hashes in the consistency proof from size 6 to 8, got 2"
    msg = raises(verify_consistency, 6, 8, [], ROOTS[6], ROOTS[8])
    assert msg == "expected 3 hashes in the consistency proof from size 6 to 8, got 0"
    msg = raises(
        verify_consistency, 4, 8, [*BIG_TREE.consistency_proof(4, 8), ZERO], ROOTS[4], ROOTS[8]
    )
    assert msg == "expected 1 hashes in the consistency proof from size 4 to 8, got 2"
    msg = raises(verify_consistency, 3, 3, [ZERO], ROOTS[3], ROOTS[3])
    assert msg == "expected 0 hashes for equal sizes 3, got 1"


def test_mismatching_roots_are_rejected_with_both_values():
    msg = raises(verify_inclusion, D8[1], 0, 8, P08, ROOTS[8])
    assert msg.startswith(f"root mismatch: expected {ROOTS[8].hex()}, proof gives ")
    proof = BIG_TREE.consistency_proof(6, 8)
    msg = raises(verify_consistency, 6, 8, proof, ROOTS[5], ROOTS[8])
    assert msg.startswith(f"root1 mismatch: expected {ROOTS[5].hex()}")
    msg = raises(verify_consistency, 6, 8, proof, ROOTS[6], ROOTS[7])
    assert msg.startswith(f"root2 mismatch: expected {ROOTS[7].hex()}")
    msg = raises(verify_consistency, 3, 3, [], ROOTS[3], ROOTS[4])
    assert msg.startswith(f"root2 mismatch: expected {ROOTS[4].hex()}")


def test_short_roots_in_a_real_consistency_proof_are_rejected():
    proof = BIG_TREE.consistency_proof(6, 8)
    assert raises(verify_consistency, 6, 8, proof, b"WrongRoot", ROOTS[8]) == (
        "root1 is 9 bytes, expected 32"
    )


def test_invalid_ranges_are_rejected():
    assert raises(subtree_decomposition, 3, 3) == "expected a non-empty range, got [3, 3)"
    assert raises(subtree_decomposition, 2, 5) == (
        "range [2, 5) is not a node of the tree: expected start to be a multiple of 4, got 2"
    )
    assert raises(fold_subtrees, []) == "expected at least 1 subtree hash, got 0"
    assert raises(fold_subtrees, [ZERO, b"short"]) == "hash 1 is 5 bytes, expected 32"
    assert raises(root_from_leaf_hashes, [ZERO, ZERO, ZERO[:9]]) == (
        "hash 2 is 9 bytes, expected 32"
    )


def test_memory_tree_refuses_what_it_does_not_hold():
    tree = MemoryTree(leaves(5))
    assert tree.size == 5
    assert raises(tree.root, 6) == "expected tree size <= 5, got 6"
    assert raises(tree.inclusion_proof, 0, 6) == "expected tree size <= 5, got 6"
    assert raises(tree.node, 1, 2) == ("expected index < 2 at level 1 of a tree of 5 leaves, got 2")
    assert raises(tree.node, 3, 0) == (
        "expected a complete subtree of a tree of 5 leaves, got level 3 index 0"
    )
    assert raises(tree.append, b"short") == "leaf hash 5 is 5 bytes, expected 32"


def test_memory_tree_answers_for_earlier_sizes_after_growing():
    tree = MemoryTree()
    for i, h in enumerate(leaves(20)):
        tree.append(h)
        assert tree.root() == ROOTS[i + 1]
    assert tree.root(7) == ROOTS[7]
    assert tree.inclusion_proof(3, 7) == BIG_TREE.inclusion_proof(3, 7)
    assert tree.consistency_proof(3, 7) == BIG_TREE.consistency_proof(3, 7)


def test_module_is_pure():
    source = Path(merkle.__file__).read_text()
    imports = {
        line.split()[1] for line in source.splitlines() if line.startswith(("import", "from"))
    }
    assert imports <= {"__future__", "collections.abc", "hashlib"}


def test_vectors_dir_fails_rather_than_skips_when_shared_data_is_required(monkeypatch, tmp_path):
    from . import vectors

    monkeypatch.setattr(vectors, "SHARED_TLOG", tmp_path / "missing")
    monkeypatch.setenv("CORROBORATE_REQUIRE_SHARED_DATA", "1")
    with pytest.raises(pytest.fail.Exception, match="CORROBORATE_REQUIRE_SHARED_DATA=1"):
        vectors.vectors_dir()
    monkeypatch.delenv("CORROBORATE_REQUIRE_SHARED_DATA")
    assert vectors.vectors_dir() == vectors.LOCAL_TLOG
