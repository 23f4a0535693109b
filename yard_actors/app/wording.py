"""Counts in sentences for people: "1 event", "2 events", never "1 events"."""

from __future__ import annotations

__all__ = ["count"]


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, the noun plural (``plural``, or noun + s) unless ``n`` is 1."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
