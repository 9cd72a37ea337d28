"""Text normalisation shared by ids, exact dedup, MinHash and decontamination.

Two problems that differ only in Unicode form, case, whitespace or LaTeX spacing
(`\\,`, `\\ `, `\\quad`, `\\left`/`\\right`, `\\dfrac` vs `\\frac`) normalise to the same string.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# LaTeX commands that only change spacing or delimiter size: removed.
_LATEX_SPACING = re.compile(r"\\(?:[,;:! ]|quad\b|qquad\b|left\b|right\b|big[lr]?\b|Big[lr]?\b|displaystyle\b)")
# Fraction variants that render alike: unified.
_LATEX_SYNONYMS = re.compile(r"\\[dt]frac\b")
_WS = re.compile(r"\s+")
# Space next to a symbol carries no meaning ("x + 1" == "x+1").
_SPACE_AROUND_SYMBOL = re.compile(r" ?([^\w ]) ?")
_DIGITS = re.compile(r"\d+")

#: Tokens for word n-grams: LaTeX commands, alphanumeric runs, and single symbols.
TOKEN_PATTERN = r"\\[a-z]+|[^\W_]+|[^\w\s]"
#: Tokens without symbols, for decontamination (8 symbols in a row are not evidence of a copy).
WORD_PATTERN = r"\\[a-z]+|[^\W_]+"


def normalize_text(text: str | None) -> str:
    """NFKC, lower case, LaTeX spacing removed, whitespace collapsed and dropped beside symbols."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _LATEX_SPACING.sub(" ", s)
    s = _LATEX_SYNONYMS.sub(r"\\frac", s)
    s = _WS.sub(" ", s).strip()
    return _SPACE_AROUND_SYMBOL.sub(r"\1", s)


def mask_digits(normalized: str) -> str:
    """Every run of digits becomes `0`, so renumbered copies of a problem compare equal."""
    return _DIGITS.sub("0", normalized)


def normalize_series(texts: pl.Series) -> pl.Series:
    """`normalize_text` over a whole column, in polars' native (multi-threaded) string kernels.

    Gives the same strings as `normalize_text` (a test holds the two together on real problems)
    at a fraction of the cost for hundreds of thousands of rows.
    """
    texts = texts.cast(pl.String).fill_null("")
    # NFKC is the identity on ASCII, and most problems are ASCII: normalise only the others.
    non_ascii = texts.str.contains(r"[^\x00-\x7F]")
    if non_ascii.any():
        texts = pl.select(pl.when(non_ascii).then(texts.str.normalize("NFKC")).otherwise(texts)).to_series()
    return (
        texts.str.to_lowercase()
        .str.replace_all(_LATEX_SPACING.pattern, " ")
        .str.replace_all(_LATEX_SYNONYMS.pattern, r"\frac", literal=False)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ")
        .str.replace_all(r" ?([^\w ]) ?", "$1")
    )
