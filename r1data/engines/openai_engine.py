"""Any OpenAI-compatible chat endpoint (vllm serve, SGLang, a hosted teacher such as DeepSeek-R1).

Requests run concurrently (a bounded thread pool), each with a timeout and retries with
exponential backoff on 429, 5xx and connection errors. A request that still fails is returned as
`None` generations: the step marks that row failed and a rerun retries it. Reasoning text that a
server returns apart (`reasoning_content` or `reasoning`) is kept and put back in front of the
answer inside <think>...</think>, so checks see the whole trace.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from r1data.engines import Generation, Request, Sampling
from r1data.errors import ConfigError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class OpenAIEngine:
    name = "openai"

    def __init__(
        self,
        model: str | None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        request_timeout: float = 600.0,
        retries: int = 4,
        backoff: float = 1.0,
        **_: Any,
    ) -> None:
        if not base_url:
            raise ConfigError("--engine openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if not model:
            raise ConfigError("--engine openai needs --model: the name the server knows the model by")
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.key = os.environ.get(api_key_env, "")
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, request_timeout, retries, backoff

    def _post(self, body: dict) -> dict:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUS or attempt == self.retries:
                    raise
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if attempt == self.retries:
                    raise
            time.sleep(self.backoff * 2**attempt * (1 + random.random() / 2))
        raise RuntimeError("unreachable")  # pragma: no cover

    def _one(self, request: Request, sampling: Sampling) -> list[Generation] | None:
        body = {
            "model": self.model, "messages": request.messages, "n": request.n, "seed": request.seed,
            "temperature": sampling.temperature, "top_p": sampling.top_p, "max_tokens": sampling.max_tokens,
        }  # fmt: skip
        try:
            reply = self._post(body)
        except Exception:  # retries spent: this row fails, the others go on
            return None
        out = []
        for choice in reply.get("choices", []):
            message = choice.get("message") or {}
            content = message.get("content") or ""
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            text = f"<think>{reasoning}</think>{content}" if reasoning else content
            out.append(Generation(text, choice.get("finish_reason"), None, reasoning))
        return out

    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation] | None]:
        with ThreadPoolExecutor(max(1, self.concurrency)) as pool:
            return list(pool.map(lambda r: self._one(r, sampling), requests))

    def close(self) -> None:
        return None
