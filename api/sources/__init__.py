"""The sources domain of the GraphQL API: types, root fields, loaders and filters."""
