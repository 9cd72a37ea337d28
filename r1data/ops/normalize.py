"""Text normalisation shared by ids, exact dedup, MinHash and decontamination.

The normal form of a problem is its tokens joined by single spaces, after Unicode NFKC, lower case,
removing LaTeX spacing (`\\,`, `\\ `, `\\quad`, `\\left`/`\\right`, ...) and unifying `\\dfrac`,
`\\tfrac` with `\\frac`. Tokens are LaTeX commands, alphanumeric runs and single symbols, so
"x + 1" and "x+1" agree while "ab" and "a b" do not. MinHash shingles are n-grams of exactly these
tokens, so one regex pass serves both.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# LaTeX commands that only change spacing or delimiter size: removed.
_LATEX_SPACING = re.compile(r"\\(?:[,;:! ]|quad\b|qquad\b|left\b|right\b|big[lr]?\b|Big[lr]?\b|displaystyle\b)")
# Fraction variants that render alike: unified.
_LATEX_SYNONYMS = re.compile(r"\\[dt]frac\b")
_DIGITS = re.compile(r"\d+")

#: Tokens: LaTeX commands, alphanumeric runs, single symbols (`_` included). \x1c-\x1f are
#: whitespace to Python's `re` but not to polars' regex engine: listed so both agree.
TOKEN_PATTERN = r"\\[a-z]+|[^\W_]+|_|[^\w\s\x1c-\x1f]"
#: Tokens without symbols, for decontamination (8 symbols in a row are not evidence of a copy).
WORD_PATTERN = r"\\[a-z]+|[^\W_]+"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def normalize_text(text: str | None) -> str:
    """The normal form of one text (see the module docstring)."""
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _LATEX_SPACING.sub(" ", s)
    s = _LATEX_SYNONYMS.sub(r"\\frac", s)
    return " ".join(_TOKEN_RE.findall(s))


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
        .str.extract_all(TOKEN_PATTERN)
        .list.join(" ")
        .fill_null("")
    )
