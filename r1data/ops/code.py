"""Code problems: test-case layouts, code extraction from a completion, and output comparison.

Pure functions; running code is `r1data.judge.code` (and its sandbox).

A problem's tests (the `tests` column, or `--tests-field`) are recognised in these layouts and
normalised to a `TestSuite`:

| layout | example | kind |
| --- | --- | --- |
| list of input/output pairs (LiveCodeBench, open-r1) | `[{"input": "1 2\\n", "output": "3\\n"}]` | stdio |
| inputs/outputs lists (APPS, TACO, CodeContests) | `{"inputs": ["1 2\\n"], "outputs": ["3\\n"]}` | stdio |
| the same with `fn_name` (APPS call-based) | `{"fn_name": "add", "inputs": [[1, 2]], "outputs": [3]}` | call |
| open-r1 verification_info | `{"language": "python", "test_cases": [{"input":…, "output":…}]}` | stdio |
| assert statements (MBPP `test_list`) | `["assert add(1, 2) == 3"]` | assert |
| HumanEval `test` + `entry_point` | `{"test": "def check(candidate): …", "entry_point": "f"}` | assert |

Any of them may be given as a JSON string. Call-based cases with `testtype: functional` (LiveCodeBench)
carry their arguments as JSON lines in `input`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from r1data.ops.completions import completion_text, split_think

STDIO, CALL, ASSERT = "stdio", "call", "assert"
LANGUAGE_ALIASES = {"python": ("python", "py", "python3"), "cpp": ("cpp", "c++", "cc", "cxx"), "c": ("c",)}


@dataclass(frozen=True)
class TestSuite:
    __test__ = False  # not a pytest class
    kind: str  # stdio | call | assert
    cases: tuple  # stdio: (stdin, expected); call: (args list, expected); assert: source text
    fn_name: str | None = None
    language: str = "python"
    setup: str = ""  # code that runs before the tests (HumanEval's imports); assert kind only


class TestsError(ValueError):
    """The tests of a row are in no layout r1data knows; the message says which layouts it reads."""

    __test__ = False


KNOWN = (
    "a list of {input, output} pairs, {inputs: [...], outputs: [...]} (optionally with fn_name), "
    "open-r1's {test_cases: [...]}, a list of assert statements, or {test, entry_point}"
)


def _text(v: Any) -> str:
    if isinstance(v, list):
        return "\n".join(str(x) for x in v) + "\n"
    return "" if v is None else str(v)


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        s = value.strip()
        if s[:1] in "[{":
            try:
                return json.loads(s)
            except json.JSONDecodeError:
                return value
    return value


def _json_or_text(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _call_args(raw: Any) -> list:
    """LiveCodeBench functional input: one JSON value per line, each an argument."""
    if isinstance(raw, list):
        return raw
    return [json.loads(line) for line in str(raw).splitlines() if line.strip()]


def parse_tests(value: Any, row: dict | None = None) -> TestSuite:
    """A TestSuite from one row's tests in any known layout (`row` supplies entry_point / fn_name)."""
    row = row or {}
    value = _maybe_json(value)
    if isinstance(value, dict) and "test_cases" in value:  # open-r1 verification_info
        suite = parse_tests(value["test_cases"], row)
        lang = value.get("language")
        return TestSuite(suite.kind, suite.cases, suite.fn_name, lang or suite.language, suite.setup)
    if (
        isinstance(value, dict)
        and ("inputs" in value or "input" in value)
        and ("outputs" in value or "output" in value)
    ):
        ins = value.get("inputs", value.get("input"))
        outs = value.get("outputs", value.get("output"))
        if not isinstance(ins, list) or not isinstance(outs, list) or len(ins) != len(outs):
            raise TestsError("inputs and outputs must be lists of the same length")
        fn = value.get("fn_name") or row.get("fn_name")
        if fn:
            return TestSuite(CALL, tuple((_call_args(i), _unwrap(o)) for i, o in zip(ins, outs, strict=True)), fn)
        return TestSuite(STDIO, tuple((_text(i), _text(o)) for i, o in zip(ins, outs, strict=True)))
    if isinstance(value, dict) and "test" in value:  # HumanEval
        entry = value.get("entry_point") or row.get("entry_point")
        return _program(value["test"], entry, value.get("prompt_imports", ""))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        first = value[0]
        if "input" in first and "output" in first:
            functional = any(v.get("testtype") == "functional" or v.get("type") == "function_call" for v in value)
            fn = row.get("fn_name") or first.get("fn_name")
            if functional:
                if not fn:
                    raise TestsError("functional tests need the function's name (a fn_name column or field)")
                cases = tuple((_call_args(v["input"]), _unwrap(_json_or_text(v["output"]))) for v in value)
                return TestSuite(CALL, cases, fn)
            return TestSuite(STDIO, tuple((_text(v["input"]), _text(v["output"])) for v in value))
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return TestSuite(ASSERT, tuple(value), setup=_text(row.get("test_setup_code")).strip())
    if isinstance(value, str) and value.strip():
        entry = row.get("entry_point")
        if entry and "def check(" in value:
            return _program(value, entry, "")
        if "assert" in value:
            return TestSuite(ASSERT, tuple(_split_asserts(value)))
    raise TestsError(f"tests in no known layout (got {type(value).__name__}); r1data reads {KNOWN}")


def _unwrap(expected: Any) -> Any:
    """APPS wraps a call's expected return value in a one-element list."""
    return expected[0] if isinstance(expected, list) and len(expected) == 1 else expected


def _program(test: str, entry: str | None, setup: str) -> TestSuite:
    if not entry:
        raise TestsError("a HumanEval-style test program needs entry_point (the function it checks)")
    split = _check_asserts(test, entry)
    if split is not None:  # check(candidate) is a list of asserts: one case each, so each compares outside
        return TestSuite(ASSERT, tuple(split), fn_name=entry, setup=setup)
    return TestSuite(ASSERT, (f"{test}\n\ncheck({entry})\n",), fn_name=entry, setup=setup)


def _check_asserts(test: str, entry: str) -> list[str] | None:
    """HumanEval's `def check(candidate): assert candidate(...) == ...` as top-level asserts on the entry point,
    when check's body holds nothing but asserts (and a docstring); else None."""
    import ast

    try:
        tree = ast.parse(test)
    except SyntaxError:
        return None
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if len(checks) != 1 or len(checks[0].args.args) != 1:
        return None
    check, param = checks[0], checks[0].args.args[0].arg
    body = [n for n in check.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    if not body or not all(isinstance(n, ast.Assert) for n in body):
        return None
    prelude = [ast.unparse(n) for n in tree.body if n is not check and not isinstance(n, ast.Expr | ast.Assign)]

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:  # noqa: N802 - ast's name
            return ast.Name(entry, node.ctx) if node.id == param else node

    asserts = [ast.unparse(Rename().visit(n)) for n in body]
    return ["\n".join([*prelude, a]) for a in asserts]


def outside_check(case: str) -> tuple[str, str, Any, float] | None:
    """An assert whose expected value can stay outside the program: `assert EXPR == LITERAL` (either side, with a
    message or not), `assert EXPR is True/False/None`, `assert math.isclose(EXPR, LITERAL)`. Returns (the lines
    before it, EXPR, the expected value, the float tolerance): the program only computes EXPR; r1data compares.
    None otherwise."""
    import ast

    try:
        tree = ast.parse(case)
    except SyntaxError:
        return None
    if not tree.body or not isinstance(tree.body[-1], ast.Assert):
        return None
    test = tree.body[-1].test
    prelude = "\n".join(ast.unparse(n) for n in tree.body[:-1])

    def literal(node: ast.AST) -> tuple[bool, Any]:
        try:
            return True, ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False, None

    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq | ast.Is):
        left, right = test.left, test.comparators[0]
        ok, value = literal(right)
        if ok and not literal(left)[0]:
            return prelude, ast.unparse(left), value, 1e-6
        ok, value = literal(left)
        if ok and not literal(right)[0]:
            return prelude, ast.unparse(right), value, 1e-6
        return None
    if isinstance(test, ast.Call) and ast.unparse(test.func) in ("math.isclose", "isclose") and len(test.args) == 2:
        ok, value = literal(test.args[1])
        tolerance = 1e-9
        for kw in test.keywords:
            good, tol = literal(kw.value)
            if kw.arg in ("rel_tol", "abs_tol") and good and isinstance(tol, int | float):
                tolerance = max(tolerance, float(tol))
        if ok and isinstance(value, int | float) and not literal(test.args[0])[0]:
            return prelude, ast.unparse(test.args[0]), float(value), tolerance
    return None


def _split_asserts(text: str) -> list[str]:
    """Top-level statements of a test script, one case per assert (multi-line asserts kept whole)."""
    import ast

    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise TestsError(f"the test script does not parse: {exc}") from None
    prelude = [ast.get_source_segment(text, n) or "" for n in tree.body if not isinstance(n, ast.Assert)]
    asserts = [ast.get_source_segment(text, n) or "" for n in tree.body if isinstance(n, ast.Assert)]
    head = "\n".join(prelude)
    return [f"{head}\n{a}" if head else a for a in asserts] or [text]


_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def extract_code(
    completion: Any, language: str = "python", think_prefilled: bool = False, block: str = "last", fmt: str = "auto"
) -> str | None:
    """The code to run: the last (or first) fenced block of `language` after the think block; an
    untagged block counts when no tagged one exists. None when the answer has no code block."""
    text = completion_text(completion)
    _, body, _ = split_think(text, think_prefilled, fmt)  # a think block cut off has no answer, so no code
    aliases = LANGUAGE_ALIASES.get(language, (language,))
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(body)]
    tagged = [code for tag, code in blocks if tag in aliases]
    untagged = [code for tag, code in blocks if not tag]
    chosen = tagged or untagged
    if not chosen:
        return None
    code = chosen[-1] if block == "last" else chosen[0]
    return code if code.strip() else None


def normalise_output(text: str) -> list[str]:
    """Lines with trailing spaces removed and trailing blank lines dropped (as judges compare)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _number(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def outputs_match(got: str, expected: str, float_tolerance: float = 1e-6) -> bool:
    """Exact after normalising whitespace at line ends; tokens that are numbers compare within a relative
    or absolute tolerance (judges accept 0.333333 for 1/3)."""
    a, b = normalise_output(got), normalise_output(expected)
    if a == b:
        return True
    ta, tb = " ".join(a).split(), " ".join(b).split()
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb, strict=True):
        if x == y:
            continue
        fx, fy = _number(x), _number(y)
        if fx is None or fy is None or not math.isclose(fx, fy, rel_tol=float_tolerance, abs_tol=float_tolerance):
            return False
    return True


DICT_TAG = "\x1edict"  # the harness's form of a dict whose keys are not all strings (r1data/judge/harness.py)


def plain_value(v: Any) -> Any:
    """An expected value as the harness reports computed ones: tuples as lists, sets as lists sorted by repr, a
    dict with other keys than strings as its pairs sorted by the key's repr."""
    if isinstance(v, list | tuple):
        return [plain_value(x) for x in v]
    if isinstance(v, set | frozenset):
        return sorted((plain_value(x) for x in v), key=repr)
    if isinstance(v, dict):
        pairs = [(plain_value(k), plain_value(x)) for k, x in v.items()]
        if all(type(k) is str for k, _ in pairs):
            return dict(pairs)
        return {DICT_TAG: sorted(([k, x] for k, x in pairs), key=lambda p: repr(p[0]))}
    return v


def values_match(got: Any, expected: Any, float_tolerance: float = 1e-6) -> bool:
    """Return values of call-based tests: equal, with tuples as lists and floats within tolerance."""
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(
            values_match(g, e, float_tolerance) for g, e in zip(got, expected, strict=True)
        )
    if isinstance(got, float) or isinstance(expected, float):
        try:
            return math.isclose(float(got), float(expected), rel_tol=float_tolerance, abs_tol=float_tolerance)
        except (TypeError, ValueError):
            return False
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(values_match(got[k], expected[k], float_tolerance) for k in got)
    return got == expected


def suites_for(tests: Sequence[Any], rows: Sequence[dict] | None = None) -> list[TestSuite | None]:
    """Parsed suites from a tests column (JSON text, any known layout, or suites already); None where a row has no
    tests. A row whose tests cannot be read gets an empty suite: judged sandbox_error, never a wrong answer."""
    out: list[TestSuite | None] = []
    for i, t in enumerate(tests):
        if t is None or isinstance(t, TestSuite):
            out.append(t)
            continue
        try:
            out.append(parse_tests(t, rows[i] if rows else None))
        except (TestsError, ValueError, TypeError):
            out.append(TestSuite(STDIO, ()))
    return out
