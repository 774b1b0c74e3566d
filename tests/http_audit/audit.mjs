// Runs the graphql-http server audits (GraphQL over HTTP spec conformance) against one URL.
//
//   node tests/http_audit/audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one JSON document on stdout: {"url": ..., "results": [{id, name, status, reason,
// response}]}. status is graphql-http's own: "ok", "error" (a failed MUST), "warn" (a failed
// SHOULD) or "notice" (a failed MAY). response (status, content type, first 500 characters of the
// body) is given for failed audits only. Exits 0 whatever the audits found; non-zero only when it
// cannot run (no URL, or graphql-http itself throws, e.g. the server is unreachable).
import { auditServer } from 'graphql-http';

const BODY_EXCERPT = 500;

async function describe(response) {
  if (!response) return null;
  let body;
  try {
    body = (await response.clone().text()).slice(0, BODY_EXCERPT);
  } catch (err) {
    body = `<body unreadable: ${err}>`;
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  };
}

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL (e.g. http://127.0.0.1:8000/graphql)');
  process.exit(2);
}

const results = await auditServer({ url });
const report = [];
for (const { id, name, status, reason, response } of results) {
  report.push({
    id,
    name,
    status,
    reason: reason ?? null,
    response: status === 'ok' ? null : await describe(response),
  });
}
process.stdout.write(JSON.stringify({ url, results: report }, null, 2) + '\n');
