"""Read and write motif files: MEME minimal v4, JASPAR ``.jaspar``/``.pfm``, TRANSFAC and HOMER ``.motif``.

The format follows the file extension (``.meme``; ``.jaspar``/``.jpr``/``.pfm``; ``.transfac``/``.dat``;
``.motif``/``.homer``) or an explicit ``format``. Writers produce what every common reader accepts
(the MEME suite, Biopython, memelite, HOMER): integer ``nsites``, ``alength= 4 w= W`` in that
order, a background block, a blank line after every matrix, ids without spaces or ``=``; numbers
are printed with 6 decimals. Readers are tolerant of CRLF line ends, ``#`` comments, blank lines
and missing optional lines (URL, background), and strict about the matrices: a malformed row, a
wrong number of columns, a negative or non-finite value, a probability row that does not sum to 1
within 0.01 (rows within it are renormalised), a zero-width matrix, a ``w=`` that disagrees with
the rows, or a file without motifs raise :class:`~motifscan.errors.InputError` naming the file
and line.
"""

from __future__ import annotations

import logging
import math
import os
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..atomic import atomic_open
from ..errors import InputError, UsageError
from ..motifs.pwm import ALPHABET, Motif, consensus, sanitise_id

__all__ = [
    "FORMATS",
    "detect_format",
    "read_motifs",
    "write_motifs",
    "read_meme_background",
    "format_motifs",
    "homer_threshold",
    "HOMER_THRESHOLD_FRACTION",
]


FORMATS = ("meme", "jaspar", "transfac", "homer")

log = logging.getLogger("motifscan")

_EXTENSIONS = {
    ".meme": "meme",
    ".jaspar": "jaspar",
    ".jpr": "jaspar",
    ".pfm": "jaspar",  # JASPAR's raw count matrix: 4 bare rows, with or without a '>ID name' line
    ".transfac": "transfac",
    ".dat": "transfac",
    ".motif": "homer",
    ".motifs": "homer",
    ".homer": "homer",
}

#: Row sums of a probability matrix may be off by this much (printed rounding); rows are renormalised.
ROW_SUM_TOLERANCE = 1e-2

#: HOMER detection threshold = this fraction of the motif's maximum log-odds score (natural log).
HOMER_THRESHOLD_FRACTION = 0.6
#: Probability floor used only to compute HOMER's threshold (HOMER's own files never hold zeros).
HOMER_PROB_FLOOR = 1e-3


def detect_format(path: str | os.PathLike | None, format: str | None = None) -> str:
    """Return the motif format for ``path``: ``format`` if given, else from the extension.

    Extensions: ``.meme`` -> meme; ``.jaspar``, ``.jpr``, ``.pfm`` -> jaspar; ``.transfac``, ``.dat`` ->
    transfac; ``.motif``, ``.motifs``, ``.homer`` -> homer (a trailing ``.gz`` is not supported).

    Raises
    ------
    UsageError
        ``format`` is not one of :data:`FORMATS`, or the extension is not recognised.
    """
    if format is not None:
        fmt = str(format).lower()
        if fmt not in FORMATS:
            raise UsageError(f"unknown motif format {format!r}",
                             hint=f"use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower() if path is not None else ""
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    raise UsageError(
        f"cannot tell the motif format from the extension {suffix or '(none)'!r}",
        path=path,
        hint="name the file .meme, .jaspar, .pfm, .transfac or .motif, or give --format",
    )


# ============================================================================ reading helpers
def _read_text(path: str | os.PathLike) -> list[str]:
    """The file's lines without line ends (CRLF and CR tolerated)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", path=path, hint="check the path") from None
    except IsADirectoryError:
        raise InputError("is a directory, not a motif file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.splitlines()


def _number(token: str, path, lineno: int) -> float:
    try:
        value = float(token)
    except ValueError:
        raise InputError(f"not a number: {token[:40]!r}", path=path, where=f"line {lineno}") from None
    if not math.isfinite(value):
        raise InputError(f"not a finite number: {token[:40]!r}", path=path, where=f"line {lineno}")
    return value


def _numbers(tokens: Sequence[str], path, lineno: int) -> list[float]:
    return [_number(t, path, lineno) for t in tokens]


def _is_numeric_row(text: str) -> bool:
    tokens = text.split()
    if not tokens:
        return False
    try:
        float(tokens[0])
    except ValueError:
        return False
    return True


def _probability_row(tokens: Sequence[str], path, lineno: int) -> list[float]:
    """Parse one probability row: 4 finite, non-negative values summing to 1 within tolerance."""
    if len(tokens) != 4:
        raise InputError(f"expected 4 probabilities (A C G T), found {len(tokens)} columns",
                         path=path, where=f"line {lineno}")
    row = _numbers(tokens, path, lineno)
    if min(row) < 0:
        raise InputError("negative probability", path=path, where=f"line {lineno}")
    total = sum(row)
    if abs(total - 1.0) > ROW_SUM_TOLERANCE:
        raise InputError(f"probabilities sum to {total:.4g}, not 1", path=path,
                         where=f"line {lineno}", hint="a letter-probability row must sum to 1")
    return row


def _make_motif(path, lineno: int, build: Callable[[], Motif]) -> Motif:
    try:
        return build()
    except ValueError as exc:
        raise InputError(str(exc), path=path, where=f"line {lineno}") from None


def _no_motifs(path) -> InputError:
    return InputError("no motifs found", path=path, where="line 1",
                      hint="is this a motif file of the stated format?")


def _strip_comment(line: str) -> str:
    return "" if line.lstrip().startswith("#") else line


# ============================================================================ MEME
_KV = re.compile(r"([A-Za-z]+)\s*=\s*(\S+)")


def _parse_background_tokens(tokens: list[str], path, lineno: int) -> dict[str, float]:
    if len(tokens) % 2:
        raise InputError("background frequencies must be letter/number pairs",
                         path=path, where=f"line {lineno}")
    freqs = {}
    for letter, value in zip(tokens[::2], tokens[1::2]):
        freqs[letter.upper()] = _number(value, path, lineno)
    return freqs


def _background_array(freqs: dict[str, float], path, lineno: int) -> np.ndarray:
    missing = [b for b in ALPHABET if b not in freqs]
    if missing:
        raise InputError(f"background lacks {', '.join(missing)}", path=path, where=f"line {lineno}")
    bg = np.array([freqs[b] for b in ALPHABET], dtype=np.float64)
    if np.any(bg <= 0):
        raise InputError("background frequencies must be > 0", path=path, where=f"line {lineno}")
    if abs(bg.sum() - 1.0) > ROW_SUM_TOLERANCE:
        raise InputError(f"background frequencies sum to {bg.sum():.4g}, not 1",
                         path=path, where=f"line {lineno}")
    return bg / bg.sum()


def _read_meme(path) -> list[Motif]:
    lines = [_strip_comment(x) for x in _read_text(path)]
    n = len(lines)
    background = None
    pending: list[dict] = []  # motifs in file order, background applied at the end
    current = None  # dict for the MOTIF being read
    i = 0
    while i < n:
        line = lines[i].strip()
        lineno = i + 1
        i += 1
        if not line:
            continue
        if line.startswith("ALPHABET"):
            value = line.split("=", 1)[1] if "=" in line else line[len("ALPHABET"):]
            value = value.strip()
            if value.upper().startswith("ACGT") or value.startswith('"DNA"') or value.startswith("DNA"):
                # MEME 5 custom alphabet block for DNA: skip to END ALPHABET
                if not value.upper().startswith("ACGT"):
                    while i < n and not lines[i].strip().upper().startswith("END ALPHABET"):
                        i += 1
                    i += 1
                continue
            raise InputError(f"alphabet {value[:20]!r} is not DNA (ACGT)", path=path,
                             where=f"line {lineno}", hint="motifscan reads DNA motifs only")
        if line.startswith("Background letter frequencies"):
            freqs: dict[str, float] = {}
            start = lineno
            while len(freqs) < 4 and i < n:
                text = lines[i].strip()
                if not text:
                    i += 1
                    if freqs:
                        break
                    continue
                if text.startswith(("MOTIF", "letter-probability")):
                    break
                freqs.update(_parse_background_tokens(text.split(), path, i + 1))
                i += 1
            background = _background_array(freqs, path, start + 1 if freqs else start)
            continue
        if line.startswith("MOTIF"):
            if current is not None and current.get("probs") is None:
                raise InputError(f"motif {current['id']!r} has no letter-probability matrix",
                                 path=path, where=f"line {current['line']}")
            fields = line.split()
            if len(fields) < 2:
                raise InputError("MOTIF line without an identifier", path=path, where=f"line {lineno}")
            # MEME: "MOTIF id [alt]"; MEME's full output adds "width = ..." after them
            alt = fields[2] if len(fields) > 2 and "=" not in fields[2] else ""
            current = {"id": fields[1], "alt": alt, "line": lineno,
                       "probs": None, "nsites": 20, "url": ""}
            pending.append(current)
            continue
        if line.startswith("letter-probability matrix"):
            if current is None:
                raise InputError("letter-probability matrix before any MOTIF line",
                                 path=path, where=f"line {lineno}")
            if current["probs"] is not None:
                raise InputError(f"motif {current['id']!r} has a second letter-probability matrix",
                                 path=path, where=f"line {lineno}")
            header = line.split(":", 1)[1] if ":" in line else ""
            params = {k.lower(): (v, lineno) for k, v in _KV.findall(header)}
            width = None
            if "alength" in params and params["alength"][0] != "4":
                raise InputError(f"alength= {params['alength'][0]} but DNA needs 4",
                                 path=path, where=f"line {lineno}")
            if "w" in params:
                w = _number(params["w"][0], path, lineno)
                if w != int(w) or w < 1:
                    raise InputError(f"w= {params['w'][0]} is not a positive integer",
                                     path=path, where=f"line {lineno}")
                width = int(w)
            if "nsites" in params:
                ns = _number(params["nsites"][0], path, lineno)
                if ns <= 0:
                    raise InputError(f"nsites= {params['nsites'][0]} must be > 0",
                                     path=path, where=f"line {lineno}")
                current["nsites"] = ns
            rows: list[list[float]] = []
            while i < n:
                text = lines[i].strip()
                if not text:
                    if rows:  # a blank line ends the matrix
                        break
                    i += 1
                    continue
                if not _is_numeric_row(text):
                    break
                rows.append(_probability_row(text.split(), path, i + 1))
                i += 1
                if width is not None and len(rows) > width:
                    raise InputError(f"more matrix rows than w= {width}", path=path, where=f"line {i}")
            if not rows:
                raise InputError(f"motif {current['id']!r} has a matrix with no rows (zero width)",
                                 path=path, where=f"line {lineno}")
            if width is not None and len(rows) != width:
                raise InputError(f"w= {width} but the matrix has {len(rows)} rows",
                                 path=path, where=f"line {lineno}")
            current["probs"] = rows
            continue
        if line.startswith("log-odds matrix"):
            # MEME's full output may hold log-odds matrices too: skip their rows
            while i < n and _is_numeric_row(lines[i]):
                i += 1
            continue
        if line.startswith("URL") and current is not None:
            current["url"] = line[3:].strip()
            continue
        # anything else (version, strands, free text of MEME's full output) is ignored
    if current is not None and current.get("probs") is None:
        raise InputError(f"motif {current['id']!r} has no letter-probability matrix",
                         path=path, where=f"line {current['line']}")
    if not pending:
        raise _no_motifs(path)
    bg = background if background is not None else None
    return [
        _make_motif(path, m["line"], lambda m=m: Motif(
            m["id"], np.array(m["probs"]), m["nsites"], m["alt"], bg, m["url"]))
        for m in pending
    ]


def read_meme_background(path: str | os.PathLike) -> np.ndarray:
    """Read an order-0 background: a MEME background file or a MEME motif file's block.

    Accepts ``fasta-get-markov`` output (lines ``A 0.295``; ``#`` comments and higher-order
    lines such as ``AC 0.05`` are ignored) and, for convenience, a MEME motif file's
    ``Background letter frequencies`` block. Returns ``(4,)`` float64 (A, C, G, T), normalised.
    """
    lines = _read_text(path)
    for idx, raw in enumerate(lines):
        if raw.strip().startswith("Background letter frequencies"):
            freqs: dict[str, float] = {}
            j = idx + 1
            while j < len(lines) and len(freqs) < 4 and lines[j].strip():
                freqs.update(_parse_background_tokens(lines[j].split(), path, j + 1))
                j += 1
            return _background_array(freqs, path, idx + 2)
    freqs = {}
    first = None
    for idx, raw in enumerate(lines):
        text = _strip_comment(raw).strip()
        if not text:
            continue
        tokens = text.split()
        if len(tokens) != 2:
            raise InputError("expected 'LETTER FREQUENCY'", path=path, where=f"line {idx + 1}")
        letter = tokens[0].upper()
        if len(letter) == 1:
            if letter not in ALPHABET:
                raise InputError(f"letter {tokens[0]!r} is not A, C, G or T", path=path,
                                 where=f"line {idx + 1}")
            freqs[letter] = _number(tokens[1], path, idx + 1)
            first = first or idx + 1
    if not freqs:
        raise InputError("no background frequencies found", path=path, where="line 1",
                         hint="expected lines like 'A 0.3' (fasta-get-markov -m 0)")
    return _background_array(freqs, path, first)


# ============================================================================ JASPAR
_JASPAR_ROW = re.compile(r"^([ACGTacgt])\s*\[(.*)\]\s*$")


def _read_jaspar(path) -> list[Motif]:
    lines = [_strip_comment(x) for x in _read_text(path)]
    motifs: list[Motif] = []
    header = None  # (id, alt, lineno)
    rows: dict[str, list[float]] = {}

    def finish():
        if header is None:
            return
        mid, alt, hline = header
        if len(rows) != 4:
            raise InputError(f"motif {mid!r} has {len(rows)} of the 4 rows A, C, G, T",
                             path=path, where=f"line {hline}")
        widths = {len(v) for v in rows.values()}
        if len(widths) != 1:
            raise InputError(f"motif {mid!r}: rows A, C, G, T have different lengths "
                             f"({', '.join(str(len(rows[b])) for b in ALPHABET)})",
                             path=path, where=f"line {hline}")
        if widths == {0}:
            raise InputError(f"motif {mid!r} has zero width", path=path, where=f"line {hline}")
        counts = np.array([rows[b] for b in ALPHABET]).T
        zero = np.flatnonzero(counts.sum(axis=1) <= 0)
        if zero.size:
            raise InputError(f"motif {mid!r}: column {zero[0] + 1} has no counts",
                             path=path, where=f"line {hline}")
        motifs.append(_make_motif(path, hline, lambda: Motif.from_counts(mid, counts, alt=alt)))

    for idx, raw in enumerate(lines):
        lineno = idx + 1
        text = raw.strip()
        if not text:
            continue
        if text.startswith(">"):
            finish()
            fields = text[1:].split(None, 1)
            if not fields:
                raise InputError("'>' header without an identifier", path=path, where=f"line {lineno}")
            header = (fields[0], fields[1].strip() if len(fields) > 1 else "", lineno)
            rows = {}
            continue
        if header is None and not motifs and _is_numeric_row(text):
            # JASPAR's raw .pfm: one matrix of 4 bare count rows without a header, named by the file
            header, rows = (sanitise_id(Path(path).stem), "", lineno), {}
        if header is None:
            raise InputError("matrix row before any '>ID name' header", path=path,
                             where=f"line {lineno}")
        match = _JASPAR_ROW.match(text)
        if match:
            letter, body = match.group(1).upper(), match.group(2)
        elif _is_numeric_row(text):  # JASPAR .pfm style: bare rows in the order A, C, G, T
            if len(rows) >= 4:
                raise InputError("more than 4 matrix rows", path=path, where=f"line {lineno}")
            letter, body = ALPHABET[len(rows)], text
        else:
            raise InputError("expected a row like 'A [ 1 2 3 ]'", path=path, where=f"line {lineno}")
        if letter in rows:
            raise InputError(f"row {letter} given twice", path=path, where=f"line {lineno}")
        values = _numbers(body.split(), path, lineno)
        if any(v < 0 for v in values):
            raise InputError("negative count", path=path, where=f"line {lineno}")
        rows[letter] = values
    finish()
    if not motifs:
        raise _no_motifs(path)
    return motifs


# ============================================================================ TRANSFAC
def _read_transfac(path) -> list[Motif]:
    lines = _read_text(path)
    motifs: list[Motif] = []
    fields: dict[str, str] = {}
    rows: list[list[float]] = []
    order: list[int] | None = None  # column index of A, C, G, T in the P0 header
    start = None
    p0_line = None
    expected = 1
    in_matrix = False

    def finish():
        nonlocal fields, rows, order, start, p0_line, expected, in_matrix
        if order is not None:
            if not rows:
                raise InputError("matrix with no rows (zero width)", path=path,
                                 where=f"line {p0_line}")
            counts = np.array(rows)[:, order]
            zero = np.flatnonzero(counts.sum(axis=1) <= 0)
            if zero.size:
                raise InputError(f"matrix row {zero[0] + 1} has no counts", path=path,
                                 where=f"line {p0_line}")
            ac = fields.get("AC", "").split()
            idf = fields.get("ID", "").split()
            mid = ac[0] if ac else (idf[0] if idf else f"motif{len(motifs) + 1}")
            alt = " ".join(idf) if ac and idf and idf[0] != mid else fields.get("NA", "")
            if alt == mid and (not idf or idf[0] == mid):
                alt = ""  # AC = ID = NA: our writer's motif with no alternate name
            url = fields.get("UR", "")
            motifs.append(_make_motif(path, start or p0_line,
                                      lambda: Motif.from_counts(mid, counts, alt=alt, url=url)))
        # a record without a matrix (e.g. the VV version block) has nothing to keep
        fields, rows, order, start, p0_line, expected, in_matrix = {}, [], None, None, None, 1, False

    for idx, raw in enumerate(lines):
        lineno = idx + 1
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("//"):
            finish()
            continue
        key, _, value = text.partition(" ")
        if "\t" in key:
            key, _, rest = key.partition("\t")
            value = rest + " " + value
        value = value.strip()
        if start is None:
            start = lineno
        if key in ("P0", "PO"):
            if order is not None:
                raise InputError("second P0 matrix in one record (missing '//'?)", path=path,
                                 where=f"line {lineno}")
            letters = [t.upper() for t in value.split()]
            if sorted(letters[:4]) != list(ALPHABET) or len(letters) != 4:
                raise InputError("P0 header must name the columns A C G T", path=path,
                                 where=f"line {lineno}")
            order = [letters.index(b) for b in ALPHABET]
            p0_line = lineno
            in_matrix = True
            continue
        if in_matrix and key.isdigit():
            if int(key) != expected:
                raise InputError(f"matrix row numbered {key}, expected {expected:02d}", path=path,
                                 where=f"line {lineno}")
            tokens = value.split()
            if len(tokens) < 4:
                raise InputError(f"expected 4 counts, found {len(tokens)} columns", path=path,
                                 where=f"line {lineno}")
            if len(tokens) > 5 or (len(tokens) == 5 and _is_numeric_row(tokens[4])):
                raise InputError(f"expected 4 counts and an optional consensus letter, "
                                 f"found {len(tokens)} columns", path=path, where=f"line {lineno}")
            row = _numbers(tokens[:4], path, lineno)
            if min(row) < 0:
                raise InputError("negative count", path=path, where=f"line {lineno}")
            rows.append(row)
            expected += 1
            continue
        in_matrix = False
        if len(key) == 2 and key not in ("XX",):
            fields.setdefault(key, value)
        elif key != "XX" and order is None and not fields:
            raise InputError(f"not a TRANSFAC line: {text[:40]!r}", path=path, where=f"line {lineno}")
    if order is not None:
        finish()  # tolerate a missing final '//'
    if not motifs:
        raise _no_motifs(path)
    return motifs


# ============================================================================ HOMER
def _read_homer(path) -> list[Motif]:
    lines = [_strip_comment(x) for x in _read_text(path)]
    motifs: list[Motif] = []
    current = None  # (id, alt, lineno, rows)

    def finish():
        if current is None:
            return
        mid, alt, hline, rows = current
        if not rows:
            raise InputError(f"motif {mid!r} has no rows (zero width)", path=path,
                             where=f"line {hline}")
        motifs.append(_make_motif(path, hline, lambda: Motif(mid, np.array(rows), alt=alt)))

    for idx, raw in enumerate(lines):
        lineno = idx + 1
        text = raw.strip()
        if not text:
            continue
        if text.startswith(">"):
            finish()
            fields = raw.strip()[1:].split("\t")
            if len(fields) < 2 or not fields[1].strip():
                raise InputError("HOMER header needs '>consensus<TAB>name<TAB>threshold'",
                                 path=path, where=f"line {lineno}")
            if len(fields) >= 3 and fields[2].strip():
                _number(fields[2].strip(), path, lineno)  # the threshold must be a number
            name = fields[1].strip()
            current = (sanitise_id(name), name if sanitise_id(name) != name else "", lineno, [])
            continue
        if current is None:
            raise InputError("matrix row before any '>' header", path=path, where=f"line {lineno}")
        current[3].append(_probability_row(text.split(), path, lineno))
    finish()
    if not motifs:
        raise _no_motifs(path)
    return motifs


_READERS = {"meme": _read_meme, "jaspar": _read_jaspar, "transfac": _read_transfac,
            "homer": _read_homer}


def read_motifs(path: str | os.PathLike, format: str | None = None) -> list[Motif]:
    """Read every motif in a MEME, JASPAR, TRANSFAC or HOMER file.

    Parameters
    ----------
    path
        The motif file.
    format
        One of :data:`FORMATS`; ``None`` takes it from the extension (:func:`detect_format`).

    Returns
    -------
    list[Motif]
        In file order. A MEME file's background block becomes each motif's ``background``;
        the other formats carry none (uniform). JASPAR and TRANSFAC counts give ``nsites`` as
        the rounded mean column total; HOMER files carry no site count (``nsites`` = 20).

    Raises
    ------
    UsageError
        Unknown format.
    InputError
        Unreadable or malformed file (the message names the file and line).
    """
    return _READERS[detect_format(path, format)](path)


# ============================================================================ writing
def _fmt(x: float) -> str:
    return f"{x:.6f}"


def _meme_text(motifs: Sequence[Motif], background: np.ndarray) -> str:
    out = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        " ".join(f"{b} {_fmt(v)}" for b, v in zip(ALPHABET, background)),
        "",
    ]
    for m in motifs:
        alt = sanitise_id(m.alt) if m.alt else ""
        out.append(f"MOTIF {sanitise_id(m.id)}" + (f" {alt}" if alt else ""))
        out.append("")
        out.append(f"letter-probability matrix: alength= 4 w= {m.width} nsites= {int(m.nsites)} E= 0")
        out.extend(" " + "  ".join(_fmt(v) for v in row) for row in m.probs)
        out.append("")  # every matrix ends with a blank line (memelite drops a last one without)
        if m.url:
            out.append(f"URL {m.url.strip()}")
            out.append("")
    return "\n".join(out) + "\n"


def _count_strings(counts: np.ndarray, nsites: int) -> np.ndarray:
    """Counts as integers when they all are (JASPAR's usual look), else with 6 decimals.

    "Integral" allows the error of probabilities printed with 6 decimals (``nsites * 1e-6``), so
    a JASPAR matrix read from a MEME file is written back with its original integer counts.
    """
    tol = max(1e-9, nsites * 1e-6)
    if np.all(np.abs(counts - np.round(counts)) <= tol):
        return np.array([[str(int(round(v))) for v in row] for row in counts])
    return np.array([[_fmt(v) for v in row] for row in counts])


def _jaspar_text(motifs: Sequence[Motif]) -> str:
    out = []
    for m in motifs:
        alt = sanitise_id(m.alt) if m.alt else ""
        out.append(f">{sanitise_id(m.id)}" + (f"\t{alt}" if alt else ""))
        strings = _count_strings(m.counts, m.nsites)
        width = max(len(s) for s in strings.ravel())
        for j, b in enumerate(ALPHABET):
            out.append(f"{b}  [ " + " ".join(s.rjust(width) for s in strings[:, j]) + " ]")
    return "\n".join(out) + "\n"


def _transfac_text(motifs: Sequence[Motif]) -> str:
    # AC the id, ID and NA the alternate name (else the id again), so every motif has a name:
    # Biopython's parser keeps them as motif["AC"], motif["ID"], motif["NA"] (its ``.name``
    # stays empty for any TRANSFAC file); our reader takes an NA equal to AC and ID as no alt.
    out = []
    for m in motifs:
        mid = sanitise_id(m.id)
        name = sanitise_id(m.alt) if m.alt else mid
        out += [f"AC  {mid}", "XX", f"ID  {name}", "XX", f"NA  {name}", "XX"]
        strings = _count_strings(m.counts, m.nsites)
        width = max(max(len(s) for s in strings.ravel()), 1)
        out.append("P0  " + "  ".join(b.rjust(width) for b in ALPHABET))
        cons = consensus(m.probs)
        for i, row in enumerate(strings):
            out.append(f"{i + 1:02d}  " + "  ".join(s.rjust(width) for s in row) + f"  {cons[i]}")
        out.append("XX")
        if m.url:
            out += [f"UR  {m.url.strip()}", "XX"]
        out.append("//")
    return "\n".join(out) + "\n"


def homer_threshold(motif: Motif, fraction: float = HOMER_THRESHOLD_FRACTION) -> float:
    """HOMER detection threshold written in a ``.motif`` header.

    HOMER scores a site as ``sum_i ln(p_i(b_i) / 0.25)`` (natural log, uniform background) and
    reports it when the score reaches the header's threshold. The matrix alone does not fix a
    threshold (HOMER's own known motifs carry thresholds tuned on ChIP-seq data), so motifscan
    uses ``fraction`` (0.6) of the motif's maximum possible score -- the rule HOMER-compatible
    converters commonly use -- computed with probabilities floored at 0.001, as HOMER's files
    never hold zeros. A site then has to recover 60 % of the best possible log-odds.
    """
    p = np.maximum(motif.probs, HOMER_PROB_FLOOR)
    p = p / p.sum(axis=1, keepdims=True)
    best = float(np.log(p.max(axis=1) / 0.25).sum())
    return fraction * best


def _homer_text(motifs: Sequence[Motif]) -> str:
    out = []
    for m in motifs:
        name = sanitise_id(m.id)
        out.append(f">{m.consensus}\t{name}\t{homer_threshold(m):.6f}")
        out.extend("\t".join(_fmt(v) for v in row) for row in m.probs)
    return "\n".join(out) + "\n"


def format_motifs(motifs: Sequence[Motif], format: str, *, background=None) -> str:
    """Return the text of ``motifs`` in ``format`` (see :func:`write_motifs`)."""
    fmt = detect_format(None, format)
    motifs = list(motifs)
    if not motifs:
        raise UsageError("no motifs to write")
    if fmt == "meme":
        if background is None and any(not np.allclose(m.background, motifs[0].background)
                                      for m in motifs[1:]):
            log.warning("motifs have different backgrounds; the MEME file holds one, "
                        "the first motif's (%s)", " ".join(f"{v:.3f}" for v in motifs[0].background))
        bg = motifs[0].background if background is None else np.asarray(background, float)
        bg = np.asarray(bg, dtype=np.float64)
        if bg.shape != (4,) or np.any(bg <= 0):
            raise UsageError("background must be 4 positive frequencies (A, C, G, T)")
        return _meme_text(motifs, bg / bg.sum())
    if fmt == "jaspar":
        return _jaspar_text(motifs)
    if fmt == "transfac":
        return _transfac_text(motifs)
    return _homer_text(motifs)


def write_motifs(
    motifs: Sequence[Motif],
    path: str | os.PathLike,
    format: str | None = None,
    *,
    background=None,
) -> Path:
    """Write ``motifs`` to ``path`` atomically in MEME, JASPAR, TRANSFAC or HOMER format.

    Parameters
    ----------
    motifs
        The motifs, written in the given order.
    path
        Output file; its extension picks the format unless ``format`` is given.
    format
        One of :data:`FORMATS`.
    background
        MEME only: the ``(4,)`` background block; default the first motif's background.

    Notes
    -----
    Ids and alternate names are written with spaces and ``=`` replaced by ``_``. TRANSFAC
    records carry the id as ``AC`` and the alternate name (or the id) as ``ID`` and ``NA``;
    Biopython (``Bio.motifs.parse(fh, "transfac")``) leaves ``.name`` empty for every TRANSFAC
    file and gives them as ``motif["AC"]``, ``motif["ID"]``, ``motif["NA"]``. Probabilities
    are printed with 6 decimals; JASPAR and TRANSFAC get counts ``probs * nsites`` (integers
    when they all are integral, else 6 decimals). HOMER headers carry the threshold of
    :func:`homer_threshold`.

    Returns
    -------
    Path
        ``path``.
    """
    fmt = detect_format(path, format)
    text = format_motifs(motifs, fmt, background=background)
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)
