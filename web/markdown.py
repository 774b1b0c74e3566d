"""The fenced code blocks of a Markdown file: tests/docs/test_doc_examples.py executes them, and
GraphiQL (``web/graphiql.py``) offers the GraphQL ones of docs/api.md as tabs.

A block is ```` ```LANG [WORD…] ````: LANG is one of LANGUAGES; the words after it say more
(GitHub and other renderers highlight by the first word and ignore the rest):

- ```` ```json variables ```` — the variables of the GraphQL block just before it;
- ```` ```json answer ```` — what the block just before it answers (its shape is checked);
- ```` ```graphql file=NAME ```` — written to NAME in the working directory for a later block
  (which must name NAME), not sent by itself.

An HTML comment ``<!-- not-executed: why -->`` right before a block marks it as deliberately not
run; the reason is required and the test counts the marked blocks. A ``json`` block with neither
word, or a block in another language, is an error: nothing is skipped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

LANGUAGES = ("graphql", "sh", "json", "python")
_NOT_EXECUTED = re.compile(r"^<!--\s*not-executed:\s*(?P<why>.*?)\s*-->\s*$", re.DOTALL)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    words: tuple[str, ...]
    text: str
    not_executed: str | None  # the reason, when marked
    heading: str = ""  # the text of the nearest heading above it ("" when none)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    def word(self, prefix: str) -> str | None:
        """The value of ``prefix=value`` among the info words, if any."""
        for word in self.words:
            if word.startswith(prefix + "="):
                return word.removeprefix(prefix + "=")
        return None


class MarkdownError(ValueError):
    """A block the rules above do not allow."""


def blocks(path: Path) -> list[Block]:
    tokens = MarkdownIt("commonmark").parse(path.read_text())
    found: list[Block] = []
    heading = ""
    for position, token in enumerate(tokens):
        if token.type == "inline" and position and tokens[position - 1].type == "heading_open":
            heading = token.content.strip()
        if token.type not in ("fence", "code_block"):
            continue
        line = (token.map[0] if token.map else 0) + 1
        if token.type == "code_block":
            raise MarkdownError(
                f"{path.name}:{line}: an indented code block; fence it with a language"
            )
        info = token.info.split()
        if not info or info[0] not in LANGUAGES:
            raise MarkdownError(
                f"{path.name}:{line}: expected a fence language among {', '.join(LANGUAGES)}, "
                f"got {token.info!r}"
            )
        reason = None
        previous = tokens[position - 1] if position else None
        if previous is not None and previous.type == "html_block":
            marked = _NOT_EXECUTED.match(previous.content.strip())
            if marked:
                reason = marked["why"]
                if not reason:
                    raise MarkdownError(f"{path.name}:{line}: not-executed needs a reason")
        block = Block(path, line, info[0], tuple(info[1:]), token.content, reason, heading)
        if (
            block.lang == "json"
            and reason is None
            and not {"variables", "answer"} & set(block.words)
        ):
            raise MarkdownError(
                f"{path.name}:{line}: expected ```json variables or ```json answer, "
                f"got ```{token.info}"
            )
        found.append(block)
    return found
