"""Compiled ``%g`` fields against Python's own formatting, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.io.floats import insert_g


def python_insert(lines: str, after, blocks, blank=None, digits: int = 6) -> str:
    """The plain way: split each line, insert each block's texts after its field."""
    fmt = f"%.{digits}g"
    out = []
    for i, line in enumerate(lines.split("\n")[:-1]):
        fields = line.split("\t")
        new = []
        for k, f in enumerate(fields):
            new.append(f)
            for a, b in zip(after, blocks):
                if a == k:
                    row = np.atleast_1d(np.asarray(b, dtype=float)[i])
                    new += [""] * len(row) if blank is not None and blank[i] else [fmt % x for x in row.tolist()]
        out.append("\t".join(new) + "\n")
    return "".join(out)


def values_alone(v: np.ndarray, digits: int) -> list[str]:
    """Each row of ``v`` as the only fields of an empty line (the line's one empty field first)."""
    text = insert_g("\n" * len(v), [0], [v], digits=digits)
    return [line[1:] for line in text.split("\n")[:-1]]


SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, 9.99999e-5, 9.999995e-5, 0.0001234565, 123456.5, 999999.5, 1e6, 1e-5,
           123456, 1234567, 0.1, 0.2, 0.3, 2.5, 1e-300, 5e-324, 1.7976931348623157e308, 1e22, 1e23, 1e-22, 1e-23,
           float("nan"), float("inf"), -float("inf"), 0.000123456, 12.5, 0.125, 1.0000005, 9.9999995]


@pytest.mark.parametrize("digits", [1, 3, 6, 9])
def test_special_values_are_pythons(digits):
    for v in (np.array(SPECIAL), -np.array(SPECIAL)):
        assert values_alone(v, digits) == [f"%.{digits}g" % x for x in v.tolist()]


def test_many_values_of_every_magnitude_and_near_ties_are_pythons():
    rng = np.random.default_rng(0)
    mant = rng.random(200_000) * 10
    v = mant * 10.0 ** rng.integers(-30, 30, mant.size) * rng.choice([-1, 1], mant.size)
    # values at and next to six-digit ties: x.xxxxx5 and its neighbouring doubles
    ties = (rng.integers(100000, 999999, 20_000) + 0.5) * 10.0 ** rng.integers(-12, 8, 20_000).astype(float)
    near = np.concatenate([ties, np.nextafter(ties, np.inf), np.nextafter(ties, -np.inf)])
    v = np.concatenate([v, near, rng.normal(size=50_000), rng.random(50_000)]).reshape(-1, 2)
    assert values_alone(v, 6) == ["\t".join("%.6g" % x for x in row) for row in v.tolist()]


words = st.text(st.characters(blacklist_characters="\t\n\r", blacklist_categories=("Cs",)), max_size=6)


@given(st.data(), st.integers(1, 9))
@settings(max_examples=200, deadline=None)
def test_inserted_fields_equal_the_plain_way(data, digits):
    n = data.draw(st.integers(0, 6))
    n_fields = data.draw(st.integers(1, 5))
    lines = "".join("\t".join(data.draw(st.lists(words, min_size=n_fields, max_size=n_fields))) + "\n"
                    for _ in range(n))
    after = sorted(data.draw(st.sets(st.integers(0, n_fields - 1), min_size=1, max_size=3)))
    floats = st.floats(allow_nan=True, allow_infinity=True)
    blocks = [np.array(data.draw(st.lists(floats, min_size=n * k, max_size=n * k)), dtype=float).reshape(n, k)
              for k in data.draw(st.lists(st.integers(1, 3), min_size=len(after), max_size=len(after)))]
    blank = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    assert insert_g(lines, after, blocks, blank=blank, digits=digits) == python_insert(lines, after, blocks, blank, digits)


def test_lines_holding_the_mark_byte_and_bad_arguments():
    lines = "a\x03b\tc\n"
    assert insert_g(lines, [0], [np.array([0.25])]) == "a\x03b\t0.25\tc\n"
    with pytest.raises(ValueError, match="do not hold"):
        insert_g("a\tb\n", [0], [np.ones((2, 1))])
    with pytest.raises(ValueError, match="do not hold"):
        insert_g("a\tb\n", [3], [np.ones((1, 1))])
    with pytest.raises(ValueError, match="increasing"):
        insert_g("a\tb\n", [1, 0], [np.ones(1), np.ones(1)])
    with pytest.raises(ValueError, match="outside 1-9"):
        insert_g("a\n", [0], [np.ones(1)], digits=12)
