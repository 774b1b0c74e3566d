// The offline checks of src/tlog.ts against a live server's real proof: it verifies, and each
// kind of tampering is refused. Run by tests/docs/ (CORROBORATE_URL, and CORROBORATE_VKEY pinned
// from `corroborate ledger vkey`):  npx tsx --test src/tlog.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";

import { execute } from "./client.js";
import { graphql } from "./gql/index.js";
import { ProofError, parseBundle, verifyProof } from "./tlog.js";

const TlogFixture = graphql(`
  query TlogFixture {
    figure(region: "ITA", metric: DEATHS_CUMULATIVE, date: "2020-03-01") {
      proof { tlogProof }
      leaf { body }
    }
  }
`);

const vkey = process.env.CORROBORATE_VKEY ?? "";
const data = await execute(TlogFixture, {});
assert.ok(data.figure, "expected ITA's deaths of 2020-03-01 on the server");
const proof = data.figure.proof.tlogProof;
const leaf = Buffer.from(data.figure.leaf.body, "utf8");

test("the real proof verifies", () => {
  const checked = verifyProof(proof, leaf, vkey);
  assert.ok(checked.index < checked.size);
});

test("another leaf is refused", () => {
  const other = Buffer.concat([leaf, Buffer.from(" ")]);
  assert.throws(() => verifyProof(proof, other, vkey), /does not lead to the checkpoint's root/);
});

test("a changed proof hash is refused", () => {
  const bundle = parseBundle(proof);
  const first = bundle.path[0]?.toString("base64") ?? "";
  const flipped = Buffer.from(first, "base64");
  flipped[0] = (flipped[0] ?? 0) ^ 1;
  const tampered = proof.replace(`\n${first}\n`, `\n${flipped.toString("base64")}\n`);
  assert.notEqual(tampered, proof);
  assert.throws(() => verifyProof(tampered, leaf, vkey), /does not lead to the checkpoint's root/);
});

test("another index is refused", () => {
  const { index } = parseBundle(proof);
  const tampered = proof.replace(`\nindex ${index}\n`, `\nindex ${index + 1n}\n`);
  assert.throws(() => verifyProof(tampered, leaf, vkey), ProofError);
});

test("a changed checkpoint is refused: its signature no longer verifies", () => {
  const { checkpoint } = parseBundle(proof);
  const [origin, size] = checkpoint.split("\n");
  const tampered = proof.replace(`${origin}\n${size}\n`, `${origin}\n${BigInt(size ?? "0") + 1n}\n`);
  assert.throws(() => verifyProof(tampered, leaf, vkey), /expected a valid signature/);
});

test("a vkey that is not one is refused", () => {
  assert.throws(() => verifyProof(proof, leaf, "not a key"), /expected a vkey/);
});
