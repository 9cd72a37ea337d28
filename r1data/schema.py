"""The one record schema every step reads and writes.

A row is a problem with its gold answer. r1data knows these columns; every other input column is
carried through untouched. Steps add columns (`drop_reason`, `duplicate_of`, `pass_rate`, ...) and
never rename the ones they were given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import xxhash

from r1data.errors import SchemaError
from r1data.ops.answers import extract_answer
from r1data.ops.normalize import normalize_series

ID = "id"
PROBLEM = "problem"
ANSWER = "answer"  # the gold final answer; TRL reward functions receive it under this name
ANSWERS = "answers"  # every acceptable gold answer, where the input gives several (answer is the first)
GOLD_KIND = "gold_kind"  # "structured" where the gold is a structure no rule-based judge compares
SOLUTION = "solution"
SOURCE = "source"
CORE_COLUMNS = (ID, PROBLEM, ANSWER, SOLUTION, SOURCE)

# Audit columns that steps add to rows they drop.
DROP_REASON = "drop_reason"
DUPLICATE_OF = "duplicate_of"
# A row's position in the input (inputs in the order given, rows in file order): the key every step accounts
# and resumes by, since ids may repeat across inputs. Internal: never written to the published shards.
ROW = "_row"

# Where common datasets keep each field, in order of preference.
PROBLEM_CANDIDATES = (
    "problem",
    "question",
    "prompt",
    "query",
    "instruction",
    "question_content",
    "description",
    "generation_prompt",
)
ANSWER_CANDIDATES = (
    "answer",
    "final_answer",
    "gold",
    "ground_truth",
    "expected_answer",
    "correct_answer",
    "gt",
    "expected",
    "reference_answer",
    "label",
)
SOLUTION_CANDIDATES = ("solution", "reasoning", "rationale")
ID_CANDIDATES = ("id", "unique_id", "uid", "problem_id", "idx", "task_id", "question_id")
TESTS = "tests"  # a code problem's test cases (any layout r1data.ops.code reads), as JSON text
TESTS_CANDIDATES = ("tests", "test_cases", "input_output", "verification_info", "test_list", "public_tests", "test")
# Completions to judge (verify) and traces to measure (stats: a worked solution when there is nothing else).
COMPLETION_CANDIDATES = (
    "generations",
    "completions",
    "completion",
    "response",
    "output",
    "generation",
    "responses",
    "output_list",
    "model_outputs",
    "model_output",
    "model_response",
)
TEXT_CANDIDATES = (*COMPLETION_CANDIDATES, SOLUTION)
# Row fields a code problem's tests may need (HumanEval's entry_point, APPS' fn_name, MBPP's setup code).
TEST_EXTRA_FIELDS = ("fn_name", "entry_point", "test_setup_code")


@dataclass(frozen=True)
class FieldMap:
    """Which input column holds each known field; None means: recognise it automatically."""

    problem: str | None = None
    answer: str | None = None
    solution: str | None = None
    id: str | None = None
    tests: str | None = None
    reserved: tuple[str, ...] = ()  # columns a step reads itself (verify's --completion-field): never remapped


def _is_gsm8k_answer(df: pl.DataFrame, col: str) -> bool:
    """GSM8K keeps a worked solution ending in `#### N` under `answer`."""
    sample = df.get_column(col).head(50).drop_nulls().cast(pl.String)
    return len(sample) > 0 and sample.str.contains("####", literal=True).mean() > 0.5


def has_gsm8k_answers(df: pl.DataFrame, col: str) -> bool:
    return col in df.columns and df.schema[col] == pl.String and _is_gsm8k_answer(df, col)


def _pick(df: pl.DataFrame, given: str | None, candidates: tuple[str, ...], field: str, where: str) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise SchemaError(
                f"{where}: --{field}-field '{given}' is not a column. Columns present: {', '.join(df.columns)}"
            )
        return given
    return next((c for c in candidates if c in df.columns), None)


def find_column(
    df: pl.DataFrame, given: str | None, candidates: tuple[str, ...], option: str, where: str, what: str = "completion"
) -> str:
    """The column a step reads: the one named by `option` (checked), else the first candidate present."""
    if given is not None:
        if given not in df.columns:
            raise SchemaError(f"{where}: {option} '{given}' is not a column. Columns present: {', '.join(df.columns)}")
        return given
    present = [c for c in candidates if c in df.columns]
    found = next((c for c in present if df.get_column(c).null_count() < df.height and is_text(df.schema[c])), None)
    if found is None:
        why = []
        for c in present:
            if df.get_column(c).null_count() == df.height:
                why.append(f"'{c}' is empty in every row")
            else:
                why.append(f"'{c}' holds {df.schema[c]}, not text")
        found_none = f"no {what} column ({', '.join(candidates)})"
        raise SchemaError(
            f"{where}: {found_none}" + (f": {'; '.join(why)}" if why else "") + f". Columns present: "
            f"{', '.join(df.columns)}. Name it with {option} COLUMN."
        )
    return found


def is_text(dtype: pl.DataType) -> bool:
    """A column of completions: text, a list of texts, or chat messages (a list of role/content structs)."""
    if dtype == pl.String:
        return True
    if dtype.base_type() in (pl.List, pl.Array):
        inner = dtype.inner  # type: ignore[union-attr]
        return inner == pl.String or isinstance(inner, pl.Struct) and "content" in {f.name for f in inner.fields}
    return False


def _looks_worked(df: pl.DataFrame, col: str) -> bool:
    """An answer column that holds worked solutions (several sentences or lines, ending in a box, `#### N` or an
    `Answer: N` line), not final answers."""
    sample = df.get_column(col).head(50).drop_nulls().cast(pl.String)
    if len(sample) == 0:
        return False
    long = (sample.str.len_chars() > 20) & (
        (sample.str.count_matches(r"[.!?](\s|$)") >= 2) | sample.str.contains("\n", literal=True)
    )
    found = sample.map_elements(lambda v: extract_answer(v) is not None, return_dtype=pl.Boolean)
    return (long & found).mean() > 0.5


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def to_records(df: pl.DataFrame, fields: FieldMap, source: str, where: str, reading: Any = None) -> pl.DataFrame:
    """Map an input table onto the schema: `id`, `problem`, `answer`, `solution`, `source` first.

    Recognised layouts: MATH (`problem` + `solution` with `\\boxed{}`), GSM8K (`question` + `answer`
    ending in `#### N`; the worked text becomes `solution`), MATH-500 and NuminaMath/OpenR1
    (`problem`, `solution`, `answer`). Mapped columns take the schema's name; others stay as they are.
    """
    reserved = [c for c in fields.reserved if c in df.columns]
    if reserved:  # a column the step reads itself survives as it is, even when it also feeds a schema field
        df = df.with_columns(pl.col(c).alias(f"\x00{c}") for c in reserved)
    problem_col = _pick(df, fields.problem, PROBLEM_CANDIDATES, "problem", where)
    if problem_col is None:
        raise SchemaError(
            f"{where}: no problem column. Columns present: {', '.join(df.columns) or '(none)'}. "
            "Name it with --problem-field COLUMN."
        )
    if df.schema[problem_col].base_type() in (pl.List, pl.Array, pl.Struct):
        raise SchemaError(
            f"{where}: column '{problem_col}' holds {df.schema[problem_col]} (a chat or nested record), not the "
            "problem's text. Name the layout with --layout (`r1data layouts` lists them), or the text column with "
            "--problem-field."
        )
    answer_col = _pick(df, fields.answer, ANSWER_CANDIDATES, "answer", where)
    solution_col = _pick(df, fields.solution, SOLUTION_CANDIDATES, "solution", where)
    if solution_col is not None and fields.solution is None and df.schema[solution_col] != pl.String:
        solution_col = None  # e.g. Logic-RL's `solution`, a list of booleans: not a worked solution
    id_col = _pick(df, fields.id, ID_CANDIDATES, "id", where)

    tests_col = _pick(df, fields.tests, TESTS_CANDIDATES, "tests", where)
    out_tests = _tests_column(df, fields.tests, where)
    if out_tests is not None and tests_col is not None and _pointer_share(out_tests) > 0.5:
        # LiveCodeBench-style {"fname", "md5"}: the tests are kept elsewhere; never judged as tests
        if reading is not None:
            reading.adjust(f"'{tests_col}' holds pointers to tests kept elsewhere (not tests): not used", df.height)
        df = df.rename({tests_col: f"{tests_col}_pointer"}) if tests_col != f"{tests_col}_pointer" else df
        out_tests, tests_col = None, None
    if out_tests is not None:
        df = df.drop([c for c in {fields.tests or "", TESTS} if c in df.columns]).with_columns(out_tests)

    # GSM8K: the "answer" column is a worked solution; its final answer follows ####.
    if (
        answer_col is not None
        and solution_col is None
        and fields.answer is None
        and df.schema[answer_col] == pl.String
        and _is_gsm8k_answer(df, answer_col)
    ):
        solution_col, answer_col = answer_col, None
    elif (
        answer_col is not None
        and solution_col is None
        and fields.answer is None
        and df.schema[answer_col] == pl.String
        and _looks_worked(df, answer_col)
    ):
        if reading is not None:
            reading.adjust(
                f"'{answer_col}' holds worked solutions: read as the solution, the gold from its end "
                "(#### N, the last \\boxed{}, or an 'Answer:' line)",
                df.height,
            )
        solution_col, answer_col = answer_col, None
    if problem_col == "instruction" and "input" in df.columns and df.schema["input"] == pl.String:
        has_input = df.get_column("input").fill_null("").str.strip_chars() != ""
        if reading is not None:
            reading.adjust("Alpaca: the input appended to the instruction", int(has_input.sum()))
        df = df.with_columns(
            pl.when(has_input)
            .then(pl.col("instruction") + "\n\n" + pl.col("input"))
            .otherwise(pl.col("instruction"))
            .alias("instruction")
        )
    if df.schema[problem_col] == pl.String:
        from r1data.ops.chat import TEMPLATE_MARKERS, strip_template

        problems = df.get_column(problem_col)
        # only the rows that hold a template's marker go through the Python stripper (a vectorised search finds them)
        at = np.flatnonzero(problems.str.contains(TEMPLATE_MARKERS).fill_null(False).to_numpy())
        cleaned = [strip_template(v) for v in problems.gather(at).to_list()]
        stripped = [name for _, name in cleaned if name]
        if stripped:
            if reading is not None:
                for name in sorted(set(stripped)):
                    reading.adjust(f"{name} chat template removed from the problem", stripped.count(name))
            fixed = pl.Series(problem_col, [c for c, _ in cleaned], dtype=pl.String)
            df = df.with_columns(problems.scatter(at, fixed))
    if reading is not None and not reading.roles:
        completion_col = next((c for c in COMPLETION_CANDIDATES if c in df.columns), None)
        found = {
            "problem": problem_col,
            "gold": answer_col or (f"{solution_col} (its final answer)" if solution_col else None),
            "solution": solution_col,
            "trace": completion_col,
            "tests": tests_col,
            "id": id_col,
        }
        reading.roles = {k: v for k, v in found.items() if v}
        if completion_col is not None:
            reading.columns["trace"] = completion_col
    gold_extra: list[pl.Series] = []
    if answer_col is not None and (
        df.schema[answer_col].is_nested() or df.schema[answer_col].is_numeric() or df.schema[answer_col] == pl.Boolean
    ):
        golds = gold_columns(df.get_column(answer_col).to_list(), reading)
        df = df.with_columns(golds[0].alias(answer_col))
        gold_extra = golds[1:]

    for col in {problem_col, solution_col, answer_col, id_col} - {None}:
        if df.schema[col] == pl.Binary:  # bytes: text where they are UTF-8, the rest with U+FFFD for the bad bytes
            raw = df.get_column(col)
            decoded = raw.map_elements(lambda b: b.decode("utf-8", "replace"), return_dtype=pl.String)
            bad = sum(1 for b in raw.to_list() if b is not None and not _is_utf8(b))
            if bad:
                reading.adjust(f"'{col}' holds bytes: read as UTF-8, bytes that are not UTF-8 replaced by U+FFFD", bad)
            df = df.with_columns(decoded.alias(col))

    def text(col: str | None) -> pl.Expr:
        if col is None:
            return pl.lit(None, dtype=pl.String)
        if df.schema[col].is_nested():  # e.g. a list of gold answers: kept whole, as JSON text
            return pl.col(col).map_elements(_json_text, return_dtype=pl.String)
        return pl.col(col).cast(pl.String)

    out = df.with_columns(
        text(problem_col).alias("__problem"),
        text(solution_col).alias("__solution"),
        text(answer_col).alias("__answer"),
        text(id_col).alias("__id"),
    )
    mapped = {c for c in (problem_col, answer_col, solution_col, id_col) if c is not None}
    out = out.drop(list(mapped))
    # A schema-named column that feeds no field (e.g. `answer` when --answer-field points elsewhere)
    # is kept under another name rather than lost.
    out = out.rename({c: f"{c}_input" for c in CORE_COLUMNS[:4] if c in out.columns})
    out = out.rename({"__problem": PROBLEM, "__solution": SOLUTION, "__answer": ANSWER, "__id": ID})
    if gold_extra:
        out = out.with_columns(gold_extra)
    # Gold answers missing from the answer column come from the worked solution.
    out = out.with_columns(
        pl.when(pl.col(ANSWER).is_null() | (pl.col(ANSWER).str.strip_chars() == ""))
        .then(pl.col(SOLUTION).map_elements(extract_answer, return_dtype=pl.String))
        .otherwise(pl.col(ANSWER).str.strip_chars())
        .alias(ANSWER)
    )
    if SOURCE in out.columns:
        out = out.with_columns(pl.col(SOURCE).cast(pl.String).fill_null(source))
    else:
        out = out.with_columns(pl.lit(source, dtype=pl.String).alias(SOURCE))
    for c in reserved:
        out = out.drop(f"\x00{c}") if c in out.columns else out.rename({f"\x00{c}": c})
    others = [c for c in out.columns if c not in CORE_COLUMNS]
    return out.select([*CORE_COLUMNS, *others])


def concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Tables stacked by column name (missing columns null). A column that is nested in one table and scalar (or
    nested differently) in another cannot be stacked as it is: there it becomes JSON text, so datasets of
    different layouts still go side by side."""
    frames = [f for f in frames if f.width]
    if not frames:
        return pl.DataFrame()
    try:
        return pl.concat(frames, how="diagonal_relaxed")
    except (pl.exceptions.SchemaError, pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):
        pass
    types: dict[str, set] = {}
    for f in frames:
        for name, dtype in f.schema.items():
            types.setdefault(name, set()).add(dtype)
    mixed = {n for n, ts in types.items() if len(ts) > 1 and any(t.is_nested() for t in ts)}
    fixed = [
        f.with_columns(
            (
                pl.col(n).map_elements(_json_text, return_dtype=pl.String)
                if f.schema[n].is_nested()
                else pl.col(n).cast(pl.String)
            ).alias(n)
            for n in mixed
            if n in f.columns
        )
        for f in frames
    ]
    return pl.concat(fixed, how="diagonal_relaxed")


def _json_text(value: object) -> str | None:
    import json

    if value is None:
        return None
    if hasattr(value, "to_list"):
        value = value.to_list()
    return json.dumps(value, default=str)


def _tests_column(df: pl.DataFrame, given: str | None, where: str) -> pl.Series | None:
    """The tests column (given, or recognised) as JSON text under `tests`, whatever its type in the file:
    files with tests as nested lists and files with JSON strings then combine."""
    import json

    col = _pick(df, given, TESTS_CANDIDATES, "tests", where)
    if col is None:
        return None
    series = df.get_column(col)
    if series.dtype == pl.String:
        return series.alias(TESTS)
    values = [None if v is None else json.dumps(v, default=str) for v in series.to_list()]
    return pl.Series(TESTS, values, dtype=pl.String)


_POINTER_KEYS = {"fname", "md5", "sha256", "path", "url", "file", "filename", "size"}


def _pointer_share(tests: pl.Series) -> float:
    """The share of rows whose tests are a pointer to a file (LiveCodeBench's {"fname", "md5"}), not tests."""
    import json

    values = tests.drop_nulls().head(50).to_list()
    if not values:
        return 0.0
    hits = 0
    for v in values:
        try:
            obj = json.loads(v) if isinstance(v, str) else v
        except ValueError:
            continue
        hits += isinstance(obj, dict) and bool(obj) and set(obj) <= _POINTER_KEYS
    return hits / len(values)


def hash_id(normalized_problem: str) -> str:
    """Stable id of a problem: 16 hex digits of xxh3-64 over its normalised text."""
    return xxhash.xxh3_64_hexdigest(normalized_problem.encode("utf-8"))


def assign_ids(df: pl.DataFrame, normalized: pl.Series | None = None) -> pl.DataFrame:
    """Fill missing ids with a hash of the normalised problem; repeats of a text get `-1`, `-2`, ...

    The same input always gets the same ids, and ids stay unique even before dedup.
    """
    missing = df.get_column(ID).is_null()
    if not missing.any():
        return df
    norm = (normalized if normalized is not None else normalize_series(df.get_column(PROBLEM))).to_list()
    hashes = pl.Series("h", list(map(hash_id, norm)), dtype=pl.String)
    # Occurrence number of each hash among the rows that need an id, in input order.
    nth = (
        pl.DataFrame({"h": hashes, "m": missing})
        .with_columns(pl.col("m").cast(pl.Int64).cum_sum().over("h").alias("n"))
        .get_column("n")
    )
    generated = pl.when(nth <= 1).then(hashes).otherwise(hashes + "-" + (nth - 1).cast(pl.String))
    return df.with_columns(
        pl.when(pl.col(ID).is_null()).then(pl.select(generated).to_series()).otherwise(pl.col(ID)).alias(ID)
    )


def validate(df: pl.DataFrame, where: str) -> None:
    """Raise a SchemaError naming the missing schema columns and the ones present."""
    missing = [c for c in CORE_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {', '.join(missing)}. Columns present: {', '.join(df.columns)}")


def gold_columns(values: list[Any], reading: Any = None) -> list[pl.Series]:
    """`answer` (text), and where needed `answers` (every acceptable answer) and `gold_kind`, from raw golds; each
    adjustment counted in the reading (layouts.Reading), where given."""
    from collections import Counter

    from r1data.ops.golds import read_gold

    golds = [read_gold(v) for v in values]
    if reading is not None:
        for note, n in Counter(g.note for g in golds if g.note).items():
            reading.adjust(note, n)
    out = [pl.Series("answer", [g.answer for g in golds], dtype=pl.String)]
    if any(g.answers for g in golds):
        out.append(pl.Series(ANSWERS, [g.answers for g in golds], dtype=pl.List(pl.String)))
    if any(g.kind == "structured" for g in golds):
        out.append(pl.Series(GOLD_KIND, [g.kind for g in golds], dtype=pl.String))
    return out
