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

import numpy as np
import polars as pl

from r1data.ops.kernel import kernel as compiled_kernel

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
        others = np.flatnonzero(non_ascii.to_numpy())
        texts = texts.scatter(others, texts.gather(others).str.normalize("NFKC"))
    prepared = (
        texts.str.to_lowercase()
        .str.replace_all(_LATEX_SPACING.pattern, " ")
        .str.replace_all(_LATEX_SYNONYMS.pattern, r"\frac", literal=False)
    )
    kernel = compiled_kernel()
    if kernel is None or prepared.len() == 0:
        return _tokens_regex(prepared)
    # ASCII rows through the compiled tokenizer (the same tokens as the regex), the others through the regex
    ascii_rows = np.flatnonzero(~non_ascii.to_numpy())
    out = _tokens_ascii(kernel, prepared.gather(ascii_rows) if ascii_rows.size < prepared.len() else prepared)
    if ascii_rows.size == prepared.len():
        return out.alias(texts.name)
    others = np.flatnonzero(non_ascii.to_numpy())
    merged = pl.Series(texts.name, [""] * prepared.len(), dtype=pl.String)
    return merged.scatter(ascii_rows, out).scatter(others, _tokens_regex(prepared.gather(others)))


def _tokens_regex(prepared: pl.Series) -> pl.Series:
    return prepared.str.extract_all(TOKEN_PATTERN).list.join(" ").fill_null("")


def _tokens_ascii(kernel, prepared: pl.Series) -> pl.Series:
    """ASCII texts as their tokens joined by one space, in one C pass over Arrow's buffers."""
    import pyarrow as pa

    arr = prepared.to_arrow()
    arr = arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr
    arr = pa.concat_arrays([arr]) if arr.offset else arr  # buffers from position 0
    _, offsets, data = arr.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1)
    data_view = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    out = np.empty(max(2 * int(offsets[-1]), 1), dtype=np.uint8)
    out_offsets = np.empty(len(arr) + 1, dtype=np.int64)
    base = offsets - offsets[0]
    data_view = data_view[offsets[0] : offsets[-1]]
    n = len(arr)
    if n < 20_000:
        written = kernel.tokens_ascii(data_view, base, out, out_offsets)
    else:  # two halves at once (the kernel releases the GIL); the second half is written after the first
        from concurrent.futures import ThreadPoolExecutor

        half = n // 2
        tail = np.empty(n - half + 1, dtype=np.int64)
        cut = int(base[half])
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(kernel.tokens_ascii, data_view, base[: half + 1], out, out_offsets[: half + 1])
            out2 = np.empty(max(2 * (int(base[-1]) - cut), 1), dtype=np.uint8)
            second = pool.submit(kernel.tokens_ascii, data_view[cut:], base[half:] - cut, out2, tail)
            head_bytes, tail_bytes = first.result(), second.result()
        out[head_bytes : head_bytes + tail_bytes] = out2[:tail_bytes]
        out_offsets[half + 1 :] = tail[1:] + head_bytes
        written = head_bytes + tail_bytes
    result = pa.LargeStringArray.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(out[:written]))
    return pl.Series(prepared.name, result, dtype=pl.String)
