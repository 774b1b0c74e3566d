// One figure's proof, checked offline against the log's key pinned from a source you trust (not
// from the same response): `corroborate ledger vkey`, or the operator's published key.
//   npx tsx src/proof.ts VKEY [REGION METRIC DATE]    (default: ITA CASES_CUMULATIVE 2020-06-01)
// Exit 0: the figure's leaf is on the log under a checkpoint the log signed; 1: it is not.
import { execute } from "./client.js";
import { graphql } from "./gql/index.js";
import type { Metric } from "./gql/graphql.js";
import { ProofError, verifyProof } from "./tlog.js";

const FigureProof = graphql(`
  query FigureProof($region: String!, $metric: Metric!, $date: Date!) {
    figure(region: $region, metric: $metric, date: $date) {
      value
      status
      proof { tlogProof }
      leaf { body }
    }
  }
`);

const [vkey, region = "ITA", metric = "CASES_CUMULATIVE", date = "2020-06-01"] = process.argv.slice(2);
if (!vkey) {
  console.error("usage: proof.ts VKEY [REGION METRIC DATE]");
  process.exit(2);
}
const data = await execute(FigureProof, { region, metric: metric as Metric, date });
if (!data.figure) throw new Error(`expected a figure for ${region} ${metric} ${date}, got none`);
const { value, status, proof, leaf } = data.figure;
try {
  const checked = verifyProof(proof.tlogProof, Buffer.from(leaf.body, "utf8"), vkey);
  console.log(`verified: ${region} ${metric} ${date} = ${value} (${status}) is leaf ${checked.index} of ${checked.origin} at size ${checked.size}`);
} catch (error) {
  if (!(error instanceof ProofError)) throw error;
  console.error(`NOT verified: ${error.message}`);
  process.exit(1);
}
