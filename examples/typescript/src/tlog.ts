// Offline checks of a c2sp.org/tlog-proof@v1 proof (docs/ledger.md, "Provenance proofs"), with
// nothing but Node's crypto: the checkpoint's Ed25519 signature (c2sp.org/signed-note) by the
// log's key, and the leaf's RFC 9162 inclusion proof up to the checkpoint's root hash.
import { createHash, createPublicKey, verify } from "node:crypto";

export class ProofError extends Error {}

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** Standard, canonical base64 (as the log writes it); anything else is refused. */
function base64(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) {
    throw new ProofError(`${what}: expected canonical base64, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  return bytes;
}

export interface Bundle {
  index: bigint;
  path: Buffer[];
  checkpoint: string; // the signed checkpoint, verbatim
}

/** Parse the proof: header, optional extra line, index, hashes, a blank line, the checkpoint. */
export function parseBundle(text: string): Bundle {
  const lines = text.split("\n");
  if (lines[0] !== "c2sp.org/tlog-proof@v1") {
    throw new ProofError(`expected 'c2sp.org/tlog-proof@v1' first, got ${JSON.stringify(lines[0])}`);
  }
  let at = 1;
  if (lines[at]?.startsWith("extra ")) at += 1; // not authenticated by anything: not used
  const index = /^index (0|[1-9][0-9]*)$/.exec(lines[at] ?? "");
  if (!index?.[1]) throw new ProofError(`expected 'index <n>', got ${JSON.stringify(lines[at])}`);
  at += 1;
  const path: Buffer[] = [];
  for (; lines[at] !== ""; at += 1) {
    if (lines[at] === undefined) throw new ProofError("expected a blank line before the checkpoint");
    const hash = base64(lines[at] as string, `proof hash ${path.length + 1}`);
    if (hash.length !== 32) throw new ProofError(`expected 32-byte hashes, got ${hash.length}`);
    path.push(hash);
  }
  return { index: BigInt(index[1]), path, checkpoint: lines.slice(at + 1).join("\n") };
}

export interface Checkpoint {
  origin: string;
  size: bigint;
  root: Buffer;
}

/**
 * Check the signed checkpoint against the log's verifier key (`<name>+<key id>+<base64 key>`,
 * as `corroborate ledger vkey` prints it): a signature line by that key must verify over the
 * note's text. Returns the checkpoint's origin, size and root hash.
 */
export function openCheckpoint(note: string, vkey: string): Checkpoint {
  // the name and key id hold no '+'; the base64 key may
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(vkey.trim());
  const [, name, keyIdHex, keyText] = match ?? [];
  if (!name || !keyIdHex || !keyText) {
    throw new ProofError(`expected a vkey <name>+<key id>+<base64 key>, got ${JSON.stringify(vkey)}`);
  }
  const key = base64(keyText, "vkey");
  if (key.length !== 33 || key[0] !== 0x01) throw new ProofError("expected an Ed25519 vkey (type 0x01)");
  const keyId = sha256(Buffer.from(`${name}\n`), key).subarray(0, 4);
  if (keyId.toString("hex") !== keyIdHex) {
    throw new ProofError(`vkey's key id ${keyIdHex} does not match its key (${keyId.toString("hex")})`);
  }
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new ProofError("expected a signed note: text, a blank line, signatures");
  const text = note.slice(0, split + 1);
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: key.subarray(1).toString("base64url") },
    format: "jwk",
  });
  const signed = note
    .slice(split + 2)
    .split("\n")
    .filter((line) => line.startsWith(`— ${name} `))
    .map((line) => base64(line.slice(`— ${name} `.length), "signature"))
    .some(
      (sig) =>
        sig.length === 68 &&
        sig.subarray(0, 4).equals(keyId) &&
        verify(null, Buffer.from(text), publicKey, sig.subarray(4)),
    );
  if (!signed) throw new ProofError(`expected a valid signature by ${name}, found none`);
  const [origin, size, root] = text.split("\n");
  if (origin !== name) throw new ProofError(`expected the log ${name}, got a checkpoint of ${origin}`);
  if (!size || !/^(0|[1-9][0-9]*)$/.test(size)) throw new ProofError(`bad checkpoint size ${size}`);
  return { origin, size: BigInt(size), root: base64(root ?? "", "root hash") };
}

/** RFC 9162 §2.1.3.2: does `path` lead from the leaf at `index` to `root` of a tree of `size`? */
export function verifyInclusion(leaf: Uint8Array, index: bigint, size: bigint, path: Buffer[], root: Buffer): void {
  if (index >= size) throw new ProofError(`leaf index ${index} is not below the tree size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let hash = sha256(Buffer.from([0x00]), leaf);
  for (const sibling of path) {
    if (sn === 0n) throw new ProofError("the proof is longer than the tree is deep");
    if ((fn & 1n) === 1n || fn === sn) {
      hash = sha256(Buffer.from([0x01]), sibling, hash);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      hash = sha256(Buffer.from([0x01]), hash, sibling);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !hash.equals(root)) {
    throw new ProofError("the inclusion proof does not lead to the checkpoint's root hash");
  }
}

/** Verify a leaf against a tlog-proof and a pinned log key; returns the checkpoint. */
export function verifyProof(proofText: string, leaf: Uint8Array, vkey: string): Checkpoint & { index: bigint } {
  const bundle = parseBundle(proofText);
  const checkpoint = openCheckpoint(bundle.checkpoint, vkey);
  verifyInclusion(leaf, bundle.index, checkpoint.size, bundle.path, checkpoint.root);
  return { ...checkpoint, index: bundle.index };
}
