from r1data.ops.answers import extract_answer, gsm8k_answer, last_boxed


def test_last_boxed_takes_the_last_box_with_nested_braces():
    assert last_boxed(r"first \boxed{1}, then \boxed{\frac{1}{2}}.") == r"\frac{1}{2}"
    assert last_boxed(r"\boxed{\left\{ 1, 2 \right\}}") == r"\left\{ 1, 2 \right\}"


def test_last_boxed_variants_and_failures():
    assert last_boxed(r"so \fbox{42}") == "42"
    assert last_boxed(r"so \boxed 5$.") == "5"
    assert last_boxed(r"\boxed{3") is None  # never closed
    assert last_boxed("no box here") is None
    assert last_boxed(None) is None


def test_gsm8k_answer():
    assert gsm8k_answer("She has 3 + 4 = 7.\n#### 7") == "7"
    assert gsm8k_answer("#### 1,000.") == "1,000"
    assert gsm8k_answer("no marker") is None


def test_extract_answer_prefers_gsm8k_marker_then_box():
    assert extract_answer("x \\boxed{2}\n#### 3") == "3"
    assert extract_answer("so $\\boxed{-4}$") == "-4"
