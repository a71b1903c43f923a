"""Sequence logos: IC-scaled heights, PNG/SVG output, atomic writes, batch naming."""

from __future__ import annotations

import numpy as np
import pytest

from motifscan.atomic import TMP_MARKER
from motifscan.errors import UsageError
from motifscan.motifs import Motif
from motifscan.motifs.logos import logo_filename, logo_heights, plot_logo, plot_logos


@pytest.fixture
def motif():
    p = np.array([[0.25, 0.25, 0.25, 0.25], [1, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0.1, 0.9]])
    return Motif("MA0001.1", p, alt="TEST")


def test_heights_scale_by_information_content(motif):
    h = logo_heights(motif)
    np.testing.assert_allclose(h[0], 0)                 # uniform column: nothing drawn
    np.testing.assert_allclose(h[1], [2, 0, 0, 0])      # certain column: 2 bits
    np.testing.assert_allclose(h[2], [0.5, 0.5, 0, 0])  # 1 bit split evenly
    np.testing.assert_allclose(h.sum(axis=1), motif.information_content())


def test_png_and_svg(motif, tmp_path):
    png = plot_logo(motif, tmp_path / "logo.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plot_logo(motif, tmp_path / "logo.svg", title="custom")
    text = svg.read_text()
    assert "<svg" in text and "custom" in text
    assert not [p for p in tmp_path.iterdir() if TMP_MARKER in p.name]


def test_bad_extension_and_missing_directory(motif, tmp_path):
    with pytest.raises(UsageError, match=".png or .svg"):
        plot_logo(motif, tmp_path / "logo.pdf")
    with pytest.raises(UsageError, match="does not exist"):
        plot_logo(motif, tmp_path / "nodir" / "logo.png")


def test_plot_logos_names_and_svg_flag(motif, tmp_path):
    other = Motif("odd id/with:chars", motif.probs)
    out = plot_logos([motif, other, motif], tmp_path / "logos")
    assert [p.name for p in out] == ["MA0001.1.png", "odd_id_with_chars.png", "MA0001.1_2.png"]
    both = plot_logos([motif], tmp_path / "both", svg=True)
    assert [p.suffix for p in both] == [".png", ".svg"] and all(p.stat().st_size > 0 for p in both)
    assert logo_filename(Motif("../x", motif.probs)) == "x.png"
