"""Tokens and a token cursor shared by the simulators' small query languages (xoql, SOQL, Sensors SQL).

Each simulator keeps its own grammar (what a statement may contain, its token pattern) and its
platform's error wording; what every dialect does the same way — splitting text into tokens with a
regular expression, stepping through them, and the clauses they share (where … and …, order by,
limit, literals) — lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

Token = tuple[str, str]  # (kind = the regex group's name, text)
T = TypeVar("T")

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<>": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


Scalar = int | float | str


def simple_token_pattern(ident: str) -> re.Pattern[str]:
    """Tokens of the plain dialects (xoql, Sensors SQL): 'text' ('' for a quote), numbers, comparison
    operators, `,` and `*`, and names as the dialect's `ident` expression allows them."""
    return re.compile(
        r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>>=|<=|!=|<>|=|>|<)"
        rf"|(?P<punct>[,*])|(?P<ident>{ident}))"
    )


@dataclass(frozen=True)
class Condition:
    """`<field> <op> <literal>` in a where clause."""

    field: str
    op: str
    value: Scalar


def sort_key(value: Any) -> tuple[int, Any]:
    """Orders nulls first, then numbers, then text, without comparing across types."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))


class TokenCursor:
    """Steps through tokens for a recursive-descent parser, and parses the clauses the dialects share.

    A dialect words its errors with the class attributes (`error_type` and the `*_text` templates)
    and keeps its own grammar in its `parse`; `field_name` is where it checks a name.
    """

    pattern: re.Pattern[str]  # the dialect's tokens, one named group per kind
    error_type: type[Exception] = ValueError
    near_text = "syntax error near: {near!r}"  # also given: {pos}, {char}
    ended_early_text = "query ended early, expected {expected}"
    unexpected_text = "syntax error: expected {expected}, got {got!r}"
    trailing_text = "syntax error: unexpected {got!r}"
    literal_text = "syntax error: expected a number or 'text' after {field} {op}"
    condition_type: type[Condition] = Condition

    def __init__(self, text: str) -> None:
        self.tokens = self.tokenize(text.strip())
        self.pos = 0

    def tokenize(self, text: str) -> list[Token]:
        """Splits a statement into (kind, text) tokens with the dialect's pattern."""
        tokens: list[Token] = []
        pos = 0
        while pos < len(text):
            match = self.pattern.match(text, pos)
            if match is None or match.end() == pos:
                near = self.near_text.format(pos=pos, char=text[pos], near=text[pos : pos + 20])
                raise self.error(near)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def error(self, message: str) -> Exception:
        """The dialect's exception for a message."""
        return self.error_type(message)

    def peek(self) -> str:
        """The next token lower-cased, or '' at the end."""
        return self.tokens[self.pos][1].lower() if self.pos < len(self.tokens) else ""

    def take(self, kind: str | None = None, word: str | None = None) -> str:
        """Consume one token, checking its kind and/or keyword."""
        if self.pos >= len(self.tokens):
            raise self.error(self.ended_early_text.format(expected=word or kind or "a token"))
        tok_kind, tok_text = self.tokens[self.pos]
        if (kind and tok_kind != kind) or (word and tok_text.lower() != word):
            raise self.error(self.unexpected_text.format(expected=word or kind or "a token", got=tok_text))
        self.pos += 1
        return tok_text

    def field_name(self) -> str:
        """A field (or column) name."""
        return self.take("ident")

    def names(self) -> list[str]:
        """`name, name, …`."""
        names = [self.field_name()]
        while self.peek() == ",":
            self.take("punct")
            names.append(self.field_name())
        return names

    def where(self, condition: Callable[[], T]) -> list[T]:
        """`[where <condition> [and <condition> …]]`, each parsed by `condition`."""
        conditions: list[T] = []
        if self.peek() == "where":
            self.take()
            conditions.append(condition())
            while self.peek() == "and":
                self.take()
                conditions.append(condition())
        return conditions

    def order_by(self, several: bool = False) -> list[tuple[str, bool]]:
        """`[order by <name> [asc|desc][, …]]` as (name, descending); one name unless `several`."""
        if self.peek() != "order":
            return []
        self.take()
        self.take("ident", "by")
        orderings = [self.ordering()]
        while several and self.peek() == ",":
            self.take("punct")
            orderings.append(self.ordering())
        return orderings

    def ordering(self) -> tuple[str, bool]:
        """`<name> [asc|desc]`."""
        name = self.field_name()
        if self.peek() in ("asc", "desc"):
            return name, self.take().lower() == "desc"
        return name, False

    def limit(self) -> int | None:
        """`[limit <n>]`."""
        if self.peek() != "limit":
            return None
        self.take()
        return int(self.take("num"))

    def end(self) -> None:
        """Refuses anything left after the statement."""
        if self.pos != len(self.tokens):
            raise self.error(self.trailing_text.format(got=self.tokens[self.pos][1]))

    def condition(self) -> Condition:
        """`<field> <op> <number|'text'>`, built as the dialect's `condition_type`."""
        name = self.field_name()
        op = self.take("op")
        return self.condition_type(name, op, self.scalar(name, op))

    def scalar(self, field: str, op: str) -> Scalar:
        """A number or a 'quoted text' ('' inside for a quote) after `<field> <op>`."""
        kind, text = self.tokens[self.pos] if self.pos < len(self.tokens) else ("", "")
        self.pos += 1
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        raise self.error(self.literal_text.format(field=field, op=op))
