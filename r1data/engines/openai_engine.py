"""Any OpenAI-compatible chat endpoint (vllm serve, SGLang, a hosted teacher such as DeepSeek-R1).

Requests run concurrently (a bounded thread pool), each with a timeout and retries with
exponential backoff on 408, 409, 425, 429, 5xx and connection errors. A request that still fails is
returned as a `Failure` with its cause: the step marks that row failed (`engine_error_detail`) and a rerun
retries it. Any other 4xx (401 wrong key, 404 unknown model, 400 bad request) cannot succeed on a rerun: it
stops the run at once with the server's message and the fix. Reasoning text that a
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

from r1data.engines.base import Failure, Generation, Request, Sampling
from r1data.errors import ConfigError, EngineError

RETRY_STATUS = {408, 409, 425, 429}  # and every 5xx
FIXES = {
    401: "check the API key: --api-key-env names the variable that holds it",
    403: "the key may not use this model or endpoint",
    404: "check --base-url (it ends in /v1) and --model (the name the server knows the model by)",
    400: "the server refused the request as sent; see its message",
    413: "the prompt is too long for the server; lower --max-tokens or shorten the problems",
    422: "the server refused the request as sent; see its message",
}


def _transient(code: int) -> bool:
    return code in RETRY_STATUS or code >= 500


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(2000).decode("utf-8", errors="replace")
    except Exception:
        return ""
    try:
        err = json.loads(body).get("error")
        body = err.get("message", body) if isinstance(err, dict) else str(err or body)
    except (ValueError, AttributeError):
        pass
    return " ".join(body.split())[:300]


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

    def _post(self, body: dict) -> dict | Failure:
        """The server's reply; a Failure once the retries of a transient error are spent; EngineError for a
        permanent one."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                said = _server_message(exc)
                if not _transient(exc.code):
                    fix = FIXES.get(exc.code, "fix the request or the server and rerun")
                    raise EngineError(
                        f"{self.url}: HTTP {exc.code} {exc.reason}{': ' + said if said else ''}. This cannot succeed "
                        f"on a retry; {fix}. Rows done so far are saved: rerun after the fix to continue."
                    ) from None
                cause = f"HTTP {exc.code} {exc.reason}{': ' + said if said else ''}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                cause = f"{type(reason).__name__}: {reason}" if not isinstance(reason, str) else reason
            except ValueError as exc:  # a reply that is not JSON
                cause = f"the reply is not JSON ({exc})"
            if attempt + 1 < attempts:
                time.sleep(self.backoff * 2**attempt * (1 + random.random() / 2))
        return Failure(f"{cause} from {self.url} (after {attempts} attempt{'s' if attempts > 1 else ''})")

    def _one(self, request: Request, sampling: Sampling) -> list[Generation] | Failure:
        body = {
            "model": self.model,
            "messages": request.messages,
            "n": request.n,
            "seed": request.seed,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        reply = self._post(body)
        if isinstance(reply, Failure):  # retries spent: this row fails, the others go on
            return reply
        out = []
        for choice in reply.get("choices", []):
            message = choice.get("message") or {}
            content = message.get("content") or ""
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            text = f"<think>{reasoning}</think>{content}" if reasoning else content
            out.append(Generation(text, choice.get("finish_reason"), None, reasoning))
        return out

    def generate(self, requests: list[Request], sampling: Sampling) -> list[list[Generation] | Failure]:
        pool = ThreadPoolExecutor(max(1, self.concurrency))
        try:
            return list(pool.map(lambda r: self._one(r, sampling), requests))
        finally:  # a permanent error stops the run: requests not yet sent are not sent
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        return None
