// graphql-codegen: the types of every operation in src/ against the repository's schema.graphql,
// written to src/gql/ (not committed: `npm run codegen` makes it; tests/docs/ runs it and then
// `tsc`, so an example that no longer fits the schema fails the test suite).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: ["src/**/*.ts", "!src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        documentMode: "string", // plain strings: fetch and graphql-ws send them as they are
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
        scalars: { Date: "string", DateTime: "string" },
      },
    },
  },
};

export default config;
