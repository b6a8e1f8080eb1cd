"""``glmcheck baseline update|check`` (placeholder, being written)."""

from __future__ import annotations


def add_parser(sub, parser_class) -> None:
    sub.add_parser("baseline", help="stored reference posteriors")


def command(args) -> int:
    raise NotImplementedError
