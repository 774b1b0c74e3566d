"""The rules of the fenced blocks that tests/docs/ executes live in ``web/markdown.py`` (GraphiQL
offers the same blocks of docs/api.md as tabs); this module keeps the tests' import."""

from web.markdown import LANGUAGES, Block, MarkdownError, blocks

__all__ = ["LANGUAGES", "Block", "MarkdownError", "blocks"]
