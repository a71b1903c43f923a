"""Words for counts in messages: ``1 allele``, ``2 alleles``, ``1,024 reads``."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, noun: str, many: str | None = None, *, commas: bool = False) -> str:
    """``n`` and ``noun`` in the number that agrees with it.

    Parameters
    ----------
    n
        The count.
    noun
        The singular (``"allele"``).
    many
        The plural when it is not ``noun + "s"`` (``"matches"``).
    commas
        Group thousands (``1,024``).

    Examples
    --------
    >>> plural(1, "thread"), plural(2, "thread"), plural(0, "match", "matches"), plural(1024, "read", commas=True)
    ('1 thread', '2 threads', '0 matches', '1,024 reads')
    """
    number = f"{n:,}" if commas else f"{n}"
    return f"{number} {noun if n == 1 else (many or noun + 's')}"
