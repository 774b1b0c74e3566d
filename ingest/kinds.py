"""The kinds of publisher (no imports, so the CLI's parser can name them without loading the rest)."""

PUBLISHER_KINDS = ("official-agency", "academic-aggregator", "newsroom", "volunteer-project")
