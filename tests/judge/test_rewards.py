import math

import pytest

from r1data.judge.rewards import REWARDS, format_reward, get_reward, language_consistency, overlong, repetition
from r1data.ops.quality import count_tokens


def cosine(completions, **kwargs):
    options = {k: kwargs.pop(k) for k in ("max_tokens",) if k in kwargs}
    return get_reward("cosine", **options)(completions, **kwargs)


def length(completions, **kwargs):
    return get_reward("length")(completions, **kwargs)


GOOD = "<think>2 and 3 make 5.</think> The answer is $\\boxed{5}$."


def test_format_plain_prefilled_and_answer_tags():
    cases = [GOOD, "no think at all", "<think>unclosed", "<think>t</think>   ", "<think>a</think><think>b</think> x"]
    assert format_reward(cases) == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert format_reward(["reasoning here</think> 5", GOOD], think_prefilled=True) == [1.0, 0.0]
    tagged = ["<think>t</think><answer>5</answer>", "<think>t</think> 5", "<think>t</think><answer> </answer>"]
    assert format_reward(tagged, answer_tags=True) == [1.0, 0.0, 0.0]
    chat = [[{"role": "assistant", "content": GOOD}]]
    assert format_reward(chat) == [1.0]


def test_language_consistency():
    en = "<think>First we add the numbers, then we divide by $x$.</think> 5"
    mixed = "<think>First we add 这些 数字 then divide.</think> 5"
    zh = "<think>我们 先 把 数字 相加</think> 5"
    scores = language_consistency([en, mixed, zh, "<think>$x=1$</think>"], language="en")
    assert scores[0] == 1.0 and 0 < scores[1] < 1 and scores[2] == 0.0 and scores[3] is None
    assert language_consistency([zh], language="zh") == [1.0]
    with pytest.raises(ValueError, match="unknown"):
        language_consistency([en], language="xx")


def test_overlong_follows_dapo():
    ids = [[0] * n for n in (10, 80, 90, 100, 120)]
    assert overlong(["x"] * 5, completion_ids=ids, max_tokens=100, cache_tokens=20) == [0.0, 0.0, -0.5, -1.0, -1.0]
    assert overlong(["a b c"], max_tokens=10, cache_tokens=5) == [0.0]  # words when no ids


def test_repetition():
    assert repetition(["one two three four five"]) == [0.0]
    loop = repetition(["go round and " * 20])[0]
    assert -1.0 < loop < -0.9
    assert repetition(["hi"]) == [0.0]


def test_accuracy_cosine_length_share_one_judge():
    accuracy = get_reward("accuracy")
    completions = [GOOD, "<think>hmm</think> \\boxed{6}", "<think>never closes", "\\boxed{5}"]
    assert accuracy(completions, answer=["5", "5", "5", "nonsense{"]) == [1.0, 0.0, 0.0, None]

    ids = [[0] * 10, [0] * 90]
    short_long = cosine([GOOD, GOOD], answer=["5", "5"], completion_ids=ids, max_tokens=100)
    assert short_long[0] > short_long[1] >= 0.5
    wrong = cosine(["\\boxed{6}", "\\boxed{6}"], answer=["5", "5"], completion_ids=ids, max_tokens=100)
    assert -1.0 <= wrong[0] < wrong[1] <= -0.5
    assert math.isclose(short_long[0], 0.5 + 0.5 * (1 + math.cos(math.pi * 0.1)) / 2)

    texts = [GOOD, GOOD + " one two three", "\\boxed{6} " + "pad " * 30, "\\boxed{6}"]
    n = [count_tokens(t) for t in texts]
    lo, hi = min(n), max(n)
    lam = [0.5 - (k - lo) / (hi - lo) for k in n]
    group = length(texts, answer=["5"] * 4, prompts=["p"] * 4)
    assert group == pytest.approx([lam[0], lam[1], min(0.0, lam[2]), min(0.0, lam[3])])
    assert group[0] > group[1] and group[2] == -0.5
    # Two prompts form two groups; equal lengths give 0.
    assert length([GOOD, GOOD], answer=["5", "5"], prompts=["a", "b"]) == [0.0, 0.0]


def test_get_reward_binds_options_and_keeps_name():
    fn = get_reward("overlong", max_tokens=10, cache_tokens=5)
    assert fn.__name__ == "overlong" and fn(["a " * 20]) == [-1.0]
    with pytest.raises(KeyError, match="unknown check"):
        get_reward("nope")
    with pytest.raises(ValueError, match="unknown option"):
        get_reward("overlong", max_tokenz=10)
    assert set(REWARDS) >= {"accuracy", "format", "code", "binary_code", "code_format"}
