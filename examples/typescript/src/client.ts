// A typed GraphQL call over HTTP with Node's fetch: the document's TypeScript types (from
// graphql-codegen) give the variables it takes and the data it answers.
import type { TypedDocumentString } from "./gql/graphql.js";

export const URL_ = process.env.CORROBORATE_URL ?? "http://127.0.0.1:8000/graphql";

export class GraphQLErrors extends Error {}

export async function execute<Data, Variables>(
  document: TypedDocumentString<Data, Variables>,
  variables: Variables,
  url: string = URL_,
): Promise<Data> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json",
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: Data | null; errors?: { message: string }[] };
  if (body.errors?.length || body.data == null) {
    const messages = body.errors?.map((e) => e.message).join("; ") ?? "no data";
    throw new GraphQLErrors(`HTTP ${response.status}: ${messages}`);
  }
  return body.data;
}
