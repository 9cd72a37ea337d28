import json

import polars as pl

from r1data.ops.normalize import mask_digits, normalize_series, normalize_text


def test_spacing_case_unicode_and_latex_spacing_are_ignored():
    a = r"Find $x$ if  \left( x + 1 \right) = \dfrac{1}{2}\,."
    b = r"find $x$ if (x+1)=\frac{1}{2}."
    c = "ＦＩＮＤ $x$ if (x+1) = \\tfrac{1}{2} ."
    assert normalize_text(a) == normalize_text(b) == normalize_text(c)


def test_different_problems_stay_different():
    assert normalize_text("x+1=5") != normalize_text("x-1=5")
    assert normalize_text("") == normalize_text(None) == ""


def test_mask_digits():
    assert mask_digits("what is 12+345?") == mask_digits("what is 9+1?") == "what is 0+0?"


def test_series_version_matches_python_version(demo_dir, shared_data):
    texts = [json.loads(line)["problem"] for line in (shared_data / "math_test.jsonl").read_text().splitlines()]
    texts += [json.loads(line)["question"] for line in (shared_data / "gsm8k_test.jsonl").read_text().splitlines()]
    texts += ["", " \t x  ", "Ａ\\;b\\quad c", "\\left[ 1 \\right]"]
    assert normalize_series(pl.Series(texts)).to_list() == [normalize_text(t) for t in texts]
