"""Did-you-mean hints: the close matches of a word nobody knows."""

from __future__ import annotations

from collections.abc import Iterable


def close(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches``, imported only when a hint is wanted: a check that finds
    nothing misspelt does not pay for difflib's import."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=n, cutoff=cutoff)
