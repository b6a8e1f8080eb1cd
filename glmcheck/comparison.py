"""``glmcheck compare A B``: two run records side by side (placeholder, being written)."""

from __future__ import annotations


def add_parser(sub, parser_class) -> None:
    p = sub.add_parser("compare", help="compare two run records")
    p.add_argument("a")
    p.add_argument("b")


def command(args) -> int:
    raise NotImplementedError
