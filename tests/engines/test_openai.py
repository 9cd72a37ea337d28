"""The OpenAI-compatible engine against a small server this test runs on 127.0.0.1: a permanent error (401) stops
the run with its cause; a transient one (503) fails the row with its cause, and `r1data run` retries it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest
import yaml

from tests.conftest import run

# Minutes of engines, training, clusters or killed processes: the full suite runs them, `-m "not slow"` skips.
pytestmark = pytest.mark.slow


class Server:
    """Answers /v1/chat/completions as `mode` says: 'ok', or an HTTP status code to fail with."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests += 1
                if server.mode != "ok":
                    code = int(server.mode)
                    payload = json.dumps({"error": {"message": f"scripted {code}"}}).encode()
                    self.send_response(code)
                else:
                    choices = [
                        {
                            "message": {"content": "<think>2+3</think> \\boxed{5}" if i % 2 else "\\boxed{4}"},
                            "finish_reason": "stop",
                        }
                        for i in range(body["n"])
                    ]
                    payload = json.dumps({"choices": choices}).encode()
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture()
def problems(tmp_path) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text(
        "".join(json.dumps({"id": f"q{i}", "problem": f"{i}: 2+3?", "answer": "5"}) + "\n" for i in range(4))
    )
    return path


def args(problems: Path, out: Path, server: Server) -> list:
    return [
        "filter",
        problems,
        "-o",
        out,
        "--pass-rate",
        "0:1",
        "--engine",
        "openai",
        "--model",
        "m",
        "--base-url",
        server.url,
        "--samples",
        "2",
        "--retries",
        "0",
    ]


def test_a_wrong_key_stops_the_run_with_the_cause(problems, tmp_path, server):
    server.mode = "401"
    out = tmp_path / "o"
    r = run(*args(problems, out, server))
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "HTTP 401" in r.stderr and "scripted 401" in r.stderr and "API key" in r.stderr
    assert not out.exists()  # nothing published, and no "failed (rerun to retry)" row pretending otherwise
    assert server.requests <= 4


def test_a_transient_error_fails_the_row_with_its_cause_and_a_pipeline_rerun_retries_it(problems, tmp_path, server):
    server.mode = "503"
    out = tmp_path / "pipe"
    recipe = tmp_path / "p.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "input": [str(problems)],
                "output": str(out),
                "steps": [
                    {
                        "filter": {
                            "pass_rate": "0:1",
                            "engine": "openai",
                            "model": "m",
                            "base_url": server.url,
                            "samples": 2,
                            "retries": 0,
                        }
                    }
                ],
            }
        )
    )
    r = run("run", recipe)
    assert r.exit_code == 0, r.stderr
    m = json.loads((out / "01-filter" / "manifest.json").read_text())
    assert m["status"] == "complete_with_failures" and m["rows_failed"] == 4
    detail = pl.read_parquet(out / "01-filter" / "removed" / "*.parquet").get_column("engine_error_detail")
    assert detail.str.contains("HTTP 503").all() and detail.str.contains("scripted 503").all()

    server.mode = "ok"
    r = run("run", recipe)
    assert r.exit_code == 0, r.stderr
    assert "skipped" not in r.stderr  # complete_with_failures is not complete: the step ran again
    m = json.loads((out / "01-filter" / "manifest.json").read_text())
    assert m["status"] == "complete" and m["rows_failed"] == 0 and m["rows_out"] == 4
    r = run("run", recipe)
    assert r.stderr.count("complete with the same command: skipped") == 1
