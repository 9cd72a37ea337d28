"""Matches by meaning (r1data/ops/semantic.py) on vectors made here: exact top-k and pairs, and the leak rules."""

import numpy as np
import pytest

from r1data.ops.semantic import Leak, SemanticParams, find_leaks, similar_pairs, top_k


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("block", [7, 64, 4096])
def test_top_k_and_similar_pairs_are_exact_whatever_the_block(block):
    rng = np.random.default_rng(3)
    vecs = unit(rng.normal(size=(150, 12)))
    full = vecs @ vecs.T
    sims, idx = top_k(vecs[:40], vecs, 5, block=block)
    assert (idx[:, 0] == np.arange(40)).all()  # each row is its own nearest
    np.testing.assert_allclose(sims, -np.sort(-full[:40], axis=1)[:, :5], rtol=1e-6)
    left, right, sim = similar_pairs(vecs, 0.4, block=block)
    want = set(zip(*np.nonzero(np.triu(full >= 0.4, k=1)), strict=True))
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == {(int(a), int(b)) for a, b in want}
    assert (left < right).all()
    np.testing.assert_allclose(sim, full[left, right], rtol=1e-6)


def test_top_k_with_fewer_items_than_k():
    vecs = unit(np.eye(3) + 0.1)
    sims, idx = top_k(vecs, vecs[:2], 5)
    assert idx.shape == (3, 2) and (sims[:, 0] >= sims[:, 1]).all()


def pair(similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """A row vector and an item vector at this cosine similarity."""
    item = np.array([[1.0, 0.0]], dtype=np.float32)
    row = np.array([[similarity, np.sqrt(1 - similarity**2)]], dtype=np.float32)
    return row, item


@pytest.mark.parametrize(
    ("similarity", "row", "item", "rule"),
    [
        (0.9, "She has 3 cats and 4 dogs.", "Sam has 3 cats and 4 dogs.", "meaning"),
        (0.9, "She has 3 cats and 5 dogs, 2 fish.", "Sam has 3 cats and 4 dogs, 2 fish.", "meaning"),  # 2 of 4 agree
        (0.9, "She has 7 cats and 9 dogs.", "Sam has 3 cats and 4 dogs.", None),  # close, other numbers: a sibling
        (0.7, "Three cats, four dogs, ten birds.", "3 cats, 4 dogs and 10 birds.", "quantities"),
        (0.7, "3 cats, 4 dogs, 11 birds.", "3 cats, 4 dogs and 10 birds.", None),  # 2 of 4 agree: too few
        (0.6, "Three cats, four dogs, ten birds.", "3 cats, 4 dogs and 10 birds.", "same quantities"),
        (0.6, "Three cats, four dogs.", "3 cats, 4 dogs.", None),  # the same, but only two quantities
        (0.5, "Three cats, four dogs, ten birds.", "3 cats, 4 dogs and 10 birds.", None),  # too far in meaning
        (0.9, "What is a prime?", "Define a prime number.", "meaning"),  # no quantities on either side
    ],
)
def test_the_rules_of_a_leak(similarity, row, item, rule):
    rv, iv = pair(similarity)
    leaks, _ = find_leaks([row], rv, [item], iv)
    assert [leak.rule for leak in leaks] == ([rule] if rule else [])


def test_gold_answers_keep_siblings_apart_and_lower_no_threshold():
    rv, iv = pair(0.97)
    text = "Sam has 3 cats and 4 dogs. How many pets?"
    leaks, siblings = find_leaks([text], rv, [text], iv, ["7"], ["8"])
    assert leaks == [] and siblings == 1  # close as can be, another answer: a sibling
    rv, iv = pair(0.56)
    leaks, siblings = find_leaks(["Pets: 3 cats plus 4 dogs?"], rv, [text], iv, ["7"], ["7.0"])
    assert leaks == [] and siblings == 0  # the same answer, but far in meaning: hundreds of problems answer 7
    rv, iv = pair(0.7)
    asked = []

    def judge(pairs):
        asked.extend(pairs)
        return [True] * len(pairs)

    row = "Pets: three cats plus four dogs?"
    reals, interval = "\\mathbb{R}", "(-\\infty, \\infty)"
    leaks, _ = find_leaks([row], rv, [text], iv, [reals], [interval], answers_equivalent=judge)
    assert asked == [(reals, interval)]  # text cannot settle these two: the judge is asked, once
    assert [leak.rule for leak in leaks] == ["quantities"]
    leaks, siblings = find_leaks([row], rv, [text], iv, [reals], [interval], answers_equivalent=lambda p: [False])
    assert leaks == [] and siblings == 1


def test_each_row_gets_its_most_similar_qualifying_item():
    items = unit(np.array([[1.0, 0.0, 0.0], [0.95, 0.31, 0.0], [0.0, 0.0, 1.0]]))
    rows = unit(np.array([[1.0, 0.05, 0.0], [0.0, 0.1, 1.0]]))
    texts = ["Ann has 2 red and 5 blue pens.", "Ann has 2 red and 5 blue pens.", "A question with 9 and 8 and 1."]
    leaks, _ = find_leaks(["Ann has 2 red and 5 blue pens.", "9, 8 and 1 in a question."], rows, texts, items)
    assert [(leak.row, leak.item) for leak in leaks] == [(0, 0), (1, 2)]
    assert isinstance(leaks[0], Leak) and leaks[0].shared == 2 and leaks[0].quantities == 2


def test_a_higher_threshold_flags_less():
    rv, iv = pair(0.8)
    words = ["What is a prime?"], ["Define a prime number."]
    assert find_leaks(*words[:1], rv, words[1], iv, params=SemanticParams(threshold=0.75))[0]
    assert not find_leaks(*words[:1], rv, words[1], iv, params=SemanticParams(threshold=0.85))[0]


def test_agreeing_on_common_quantities_says_little():
    """The quantities clause weighs each quantity by its rarity among the benchmark's items, and looks at the row's
    nearest item only."""
    common = "2 3 5 10 12 20"
    items = [f"Target: {common} and 1350."] + [f"Item {k}: {common}." for k in range(30)]
    iv = unit(np.array([[1.0, 0.0, 0.0]] + [[0.0, 1.0, 0.0]] * 30))
    rv = unit(np.array([[0.7, 0.0, np.sqrt(1 - 0.49)]] * 2))
    rows = [f"Row: {common} and 999.", f"Row: {common} and 1350."]  # 6 of 8 agree / all agree
    leaks, _ = find_leaks(rows, rv, items, iv)
    assert [(leak.row, leak.item, leak.rule) for leak in leaks] == [(1, 0, "quantities")]
    # the same agreement with an item that is not the row's nearest: no leak
    closer = unit(np.array([[0.7, 0.72, 0.0]]))
    leaks, _ = find_leaks(rows[1:], closer, items, iv)
    assert all(leak.item != 0 or leak.rule != "quantities" for leak in leaks)
