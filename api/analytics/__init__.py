"""GraphQL for the sentiment analytics (``analytics/``): the public ``sentiment`` root field."""
