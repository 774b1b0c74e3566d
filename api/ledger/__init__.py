"""The ledger's public surface: the C2SP tlog-tiles read path and the GraphQL ledger fields."""
