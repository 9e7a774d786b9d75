"""A stand-in for vllm's OpenAI-compatible server, for the serving layer's fast tests (the real one is
tested in the vllm tier). Same module path and flags as vllm's, so our launcher starts it unchanged when
this folder is on PYTHONPATH. It answers /health, /v1/models and /v1/chat/completions; the answer comes from
our scripted arithmetic generator (tests/e2e/scripted.py).

Behaviour for tests, from the environment:
- FAKE_VLLM_FAIL=1: exit at once with an error (a server that cannot start);
- FAKE_VLLM_DIE_FLAG=PATH: when that file exists, delete it and die after FAKE_VLLM_DIE_AFTER completions
  (a server killed mid-run; the restarted one finds no flag and lives).
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[6] / "e2e"))
import scripted  # noqa: E402

_count = 0
_lock = threading.Lock()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--served-model-name")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    args, _ = parser.parse_known_args()
    if os.environ.get("FAKE_VLLM_FAIL"):
        print("fake vllm: refusing to start", flush=True)
        sys.exit(3)
    print(f"fake vllm: serving {args.model} as {args.served_model_name} on {args.port}", flush=True)
    die_flag = os.environ.get("FAKE_VLLM_DIE_FLAG")
    die = bool(die_flag) and Path(die_flag).exists()
    if die:
        Path(die_flag).unlink()
    die_after = int(os.environ.get("FAKE_VLLM_DIE_AFTER", "3"))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                return self._send(200, {})
            if self.path == "/v1/models":
                return self._send(200, {"object": "list", "data": [
                    {"id": args.served_model_name, "object": "model", "max_model_len": 4096}]})
            return self._send(404, {"error": "not found"})

        def do_POST(self):
            global _count
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with _lock:
                _count += 1
                if die and _count > die_after:
                    os._exit(9)
            text = scripted.arithmetic(body["messages"], {})
            words = sum(len(m["content"].split()) for m in body["messages"])
            self._send(200, {
                "id": f"fake-{_count}", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": words, "completion_tokens": len(text.split()),
                          "total_tokens": words + len(text.split())},
            })

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
