// A country's attested figures over a month, with each publisher's value:
//   npx tsx src/figures.ts [REGION] [FROM] [TO]      (default: ITA, June 2020)
import { execute } from "./client.js";
import { graphql } from "./gql/index.js";

const CountryFigures = graphql(`
  query CountryFigures($region: String!, $from: Date!, $to: Date!) {
    figures(region: $region, metric: CASES_CUMULATIVE, from: $from, to: $to, first: 31) {
      totalCount
      nodes {
        date
        value
        status
        inputs {
          publisher { slug }
          value
        }
      }
    }
  }
`);

const [region = "ITA", from = "2020-06-01", to = "2020-06-30"] = process.argv.slice(2);
const data = await execute(CountryFigures, { region, from, to });
for (const figure of data.figures.nodes) {
  const inputs = figure.inputs.map((input) => `${input.publisher.slug}=${input.value}`).join(" ");
  console.log(`${figure.date} ${figure.value} ${figure.status} ${inputs}`);
}
console.log(`${data.figures.totalCount} figures`);
