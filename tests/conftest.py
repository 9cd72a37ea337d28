"""Small real inputs built by the project's own code; real public data when ../shared/data exists."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from r1data.cli import app

SHARED_DATA = Path(os.environ.get("R1DATA_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "math_test.jsonl").is_file():
        pytest.skip(f"real data not found at {SHARED_DATA} (set R1DATA_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from r1data.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, seed=0)
    return out


def run(*args: str | Path) -> object:
    """Invoke the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def records(**cols: list) -> pl.DataFrame:
    """A schema frame from literal columns; id/answer/solution/source filled when not given."""
    n = len(cols["problem"])
    base = {"id": [str(i) for i in range(n)], "answer": ["1"] * n, "solution": [None] * n, "source": ["t"] * n}
    base.update(cols)
    return pl.DataFrame(base, schema_overrides={"solution": pl.String, "answer": pl.String})


CHAT = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer random Llama whose words are 'the answer is 5 6': it ends on 5 or 6 by chance."""
    torch = pytest.importorskip("torch", reason="needs the train extra (torch, transformers)")
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[UNK]", "<eos>", "the", "answer", "is", "5", "6", "user", "assistant", ":"])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", eos_token="<eos>", pad_token="<eos>")
    tok.chat_template = CHAT
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=1,
        pad_token_id=1,
        bos_token_id=None,
    )
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path
