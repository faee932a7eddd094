"""Tokens and a token cursor shared by the simulators' small query languages (xoql, SOQL, Sensors SQL).

Each simulator keeps its own grammar (what a statement may contain) and its platform's error
wording; what every dialect does the same way — splitting text into tokens with a regular
expression and stepping through them — lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Token = tuple[str, str]  # (kind = the regex group's name, text)

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def tokenize(text: str, pattern: re.Pattern[str], syntax_error: Callable[[str, int], Exception]) -> list[Token]:
    """Split text into (kind, text) tokens; `syntax_error(text, pos)` builds the dialect's error."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = pattern.match(text, pos)
        if match is None or match.end() == pos:
            raise syntax_error(text, pos)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class TokenCursor:
    """Steps through tokens for a recursive-descent parser; subclasses word the errors."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def error(self, message: str) -> Exception:
        """The dialect's exception for a message."""
        return ValueError(message)

    def ended_early(self, expected: str) -> str:
        """Message when the statement stops before an expected token."""
        return f"query ended early, expected {expected}"

    def unexpected(self, expected: str, got: str) -> str:
        """Message when a token is not the expected one."""
        return f"syntax error: expected {expected}, got {got!r}"

    def peek(self) -> str:
        """The next token lower-cased, or '' at the end."""
        return self.tokens[self.pos][1].lower() if self.pos < len(self.tokens) else ""

    def take(self, kind: str | None = None, word: str | None = None) -> str:
        """Consume one token, checking its kind and/or keyword."""
        if self.pos >= len(self.tokens):
            raise self.error(self.ended_early(word or kind or "a token"))
        tok_kind, tok_text = self.tokens[self.pos]
        if (kind and tok_kind != kind) or (word and tok_text.lower() != word):
            raise self.error(self.unexpected(word or kind or "a token", tok_text))
        self.pos += 1
        return tok_text
