"""English for messages people read: the indefinite article and a count with its noun (issue 25: ``an auditor``,
``1 seal``)."""

from __future__ import annotations

_VOWEL_LETTERS = set("AEFHILMNORSX")  # letters whose name starts with a vowel sound: an EBS, an EIP, an HTTP


def a(word: str) -> str:
    """``a KEC``, ``an EBS``, ``an auditor``, ``a finance``: an acronym by its first letter's name, a word by its
    first letter."""
    if not word:
        return word
    acronym = len(word) > 1 and word[:2].isupper()
    vowel = word[0] in _VOWEL_LETTERS if acronym else word[0].lower() in "aeiou"
    return f"{'an' if vowel else 'a'} {word}"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 seal``, ``3 seals``, ``0 lines``."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
