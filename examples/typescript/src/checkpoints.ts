// Checkpoints as the log signs them, over graphql-transport-ws with the graphql-ws client:
//   npx tsx src/checkpoints.ts [COUNT]      (stops after COUNT checkpoints, default 1)
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import { URL_ } from "./client.js";
import { graphql } from "./gql/index.js";
import type { CheckpointsSubscription } from "./gql/graphql.js";

const Checkpoints = graphql(`
  subscription Checkpoints {
    checkpointAdvanced { size rootHash signedAt }
  }
`);

const count = Number(process.argv[2] ?? "1");
const client = createClient({ url: URL_.replace(/^http/, "ws"), webSocketImpl: WebSocket });
const events = client.iterate<CheckpointsSubscription>({ query: Checkpoints.toString() });
let seen = 0;
for await (const event of events) {
  if (event.errors?.length || !event.data) {
    throw new Error(`subscription error: ${JSON.stringify(event.errors)}`);
  }
  const { size, rootHash, signedAt } = event.data.checkpointAdvanced;
  console.log(`checkpoint ${size} ${rootHash} ${signedAt}`);
  if (++seen >= count) break; // leaving the loop completes the subscription
}
await client.dispose();
