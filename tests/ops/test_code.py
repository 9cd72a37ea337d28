"""Test layouts, code extraction and output comparison, on literal problems."""

from __future__ import annotations

import json

import pytest

from r1data.ops.code import (
    ASSERT,
    CALL,
    STDIO,
    TestsError,
    extract_code,
    outputs_match,
    parse_tests,
    values_match,
)


@pytest.mark.parametrize(
    ("tests", "row", "kind", "first"),
    [
        ([{"input": "1 2\n", "output": "3\n"}], {}, STDIO, ("1 2\n", "3\n")),
        ({"inputs": ["1 2\n"], "outputs": ["3\n"]}, {}, STDIO, ("1 2\n", "3\n")),
        ({"inputs": [["1", "2"]], "outputs": [["3"]]}, {}, STDIO, ("1\n2\n", "3\n")),  # lines as lists
        ({"fn_name": "add", "inputs": [[1, 2]], "outputs": [[3]]}, {}, CALL, ([1, 2], 3)),
        (
            {"language": "python", "test_cases": [{"input": "5\n", "output": "25\n", "type": "stdin_stdout"}]},
            {},
            STDIO,
            ("5\n", "25\n"),
        ),
        ([{"input": "1\n2", "output": "3", "testtype": "functional"}], {"fn_name": "add"}, CALL, ([1, 2], 3)),
        (["assert add(1, 2) == 3", "assert add(0, 0) == 0"], {}, ASSERT, "assert add(1, 2) == 3"),
        (
            {"test": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "entry_point": "add"},
            {},
            ASSERT,
            "assert add(1, 2) == 3",  # check()'s asserts, one case each, on the entry point
        ),
        (
            {
                "test": "def check(candidate):\n    for x in range(3):\n        assert candidate(x, 0) == x\n",
                "entry_point": "add",
            },
            {},
            ASSERT,
            "def check(candidate):\n    for x in range(3):\n        assert candidate(x, 0) == x\n\n\ncheck(add)\n",
        ),  # a check with a loop runs whole, in the program's process
        ("import math\nassert f(4) == 2\nassert f(9) == 3\n", {}, ASSERT, "import math\nassert f(4) == 2"),
    ],
)
def test_layouts(tests, row, kind, first):
    for given in (tests, json.dumps(tests) if not isinstance(tests, str) else tests):
        suite = parse_tests(given, row)
        assert suite.kind == kind
        assert suite.cases[0] == first


def test_unknown_layout_says_what_it_reads():
    with pytest.raises(TestsError, match="known layout.*list of \\{input, output\\} pairs"):
        parse_tests({"cases": 3})
    with pytest.raises(TestsError, match="same length"):
        parse_tests({"inputs": ["1"], "outputs": []})
    with pytest.raises(TestsError, match="entry_point"):
        parse_tests({"test": "def check(c): pass"})


def test_extract_code_takes_the_last_python_block_after_thinking():
    text = (
        "<think>try ```python\nprint('draft')\n```</think>Here:\n```py\nprint(1)\n```\nBetter:\n"
        "```python\nprint(2)\n```\n```text\nout\n```"
    )
    assert extract_code(text) == "print(2)\n"
    assert extract_code(text, block="first") == "print(1)\n"
    assert extract_code("<think>```python\nprint(1)\n```") is None  # cut off inside thinking: no answer
    assert extract_code("no code at all") is None
    assert extract_code("```\nprint(3)\n```") == "print(3)\n"  # an untagged block when no tagged one
    assert extract_code("```cpp\nint main(){}\n```", language="cpp") == "int main(){}\n"
    assert extract_code([{"role": "assistant", "content": "```python\nx=1\n```"}]) == "x=1\n"


def test_output_comparison_as_judges_do():
    assert outputs_match("3  \n\n", "3\n")
    assert outputs_match("0.3333333\n", "0.33333333")
    assert outputs_match("1 2\n3", "1 2 3")
    assert not outputs_match("3\n4\n", "3\n")
    assert not outputs_match("abc", "abd")
    assert values_match((1, 2), [1, 2]) and values_match(0.1 + 0.2, 0.3)
    assert not values_match([1, 2], [2, 1]) and not values_match("1", 1)


def test_asserts_whose_expected_value_can_stay_outside():
    from r1data.ops.code import outside_check

    assert outside_check("assert add(1, 2) == 3") == ("", "add(1, 2)", 3, 1e-6)
    assert outside_check("import math\nassert 'ab' == f(x='a'), 'message'") == ("import math", "f(x='a')", "ab", 1e-6)
    assert outside_check("assert f([1, 2]) is None") == ("", "f([1, 2])", None, 1e-6)
    assert outside_check("assert math.isclose(area(2), 12.57, rel_tol=0.001)") == ("", "area(2)", 12.57, 0.001)
    assert outside_check("assert abs(f(2) - 3) < 1e-6") is None  # not EXPR == VALUE: runs in the program
    assert outside_check("assert f(1) == g(1)") is None  # both sides computed: nothing to keep outside
    assert outside_check("x = 1") is None
