"""The judge server's request handling and model resolution, without loading a model."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from bench.backbones.chat_client import JudgeClient, JudgeSettings
from bench.backbones.chat_server import handle_chat, resolve_model, serve
from metrics.gptscore import GPTSCORE_TEMPLATE


class FakeModel:
    name = "fake-judge"

    def __init__(self):
        self.calls = []

    def generate(self, messages, max_tokens, temperature, seed=None):
        self.calls.append((messages, max_tokens, temperature, seed))
        return "77", "stop", 12, 1


def test_chat_completion_shape_and_parameters():
    model = FakeModel()
    status, body = handle_chat(model, {"model": "fake-judge", "max_tokens": 5, "temperature": 0,
                                       "messages": [{"role": "user", "content": "hi"}]})
    assert status == 200
    assert body["object"] == "chat.completion" and body["model"] == "fake-judge"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "77"}
    assert body["usage"] == {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}
    assert model.calls == [([{"role": "user", "content": "hi"}], 5, 0.0, None)]


@pytest.mark.parametrize(
    "body, status",
    [
        ([], 400),
        ({"messages": []}, 400),
        ({"messages": "hi"}, 400),
        ({"messages": [{"role": "user"}]}, 400),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 400),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}, 400),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": -1}, 400),
        ({"messages": [{"role": "user", "content": "x"}], "model": "gpt-4"}, 404),
    ],
)
def test_invalid_requests_are_4xx(body, status):
    model = FakeModel()
    got, payload = handle_chat(model, body)
    assert got == status and "error" in payload and model.calls == []


def test_http_round_trip_with_the_client(tmp_path):
    server = serve(FakeModel(), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        client = JudgeClient(JudgeSettings(url, "fake-judge", api_key_env=None, cache_path=""))
        replies = client.complete(GPTSCORE_TEMPLATE, [{"prediction": "a", "reference": "b"}])
        assert replies == ["77"] and client.served_models == {"fake-judge"}
        with urllib.request.urlopen(url + "/models", timeout=10) as resp:
            assert json.loads(resp.read())["data"][0]["id"] == "fake-judge"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "/nowhere", timeout=10)
        assert info.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_resolve_model_rejects_unknown_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a model folder"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path)) == tmp_path
