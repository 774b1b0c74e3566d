"""Members of the public in GraphQL: who they are (by pseudonym), the caller (`me`), moderation of
accounts."""
