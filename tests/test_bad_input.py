"""Bad input never gives a 500, a traceback or a hang: fuzzed from the app's own OpenAPI schema, and by hand."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

FUZZED = [
    ("/v1/chat/completions", "POST"),
    ("/v1/images/generations", "POST"),
    ("/v1/models", "GET"),
    ("/health", "GET"),
]


@pytest.fixture(scope="module")
def schema(shared_bridge):
    return schemathesis.openapi.from_dict(httpx.get(f"{shared_bridge.url}/openapi.json", timeout=10).json())


@pytest.mark.parametrize(("path", "method"), FUZZED)
def test_fuzzed_requests_never_get_a_server_error(schema, bridge, path, method):
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=schema[path][method].as_strategy())
    def check(case):
        response = case.call(base_url=bridge.url, timeout=30)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"message", "type", "code", "param"}

    check()


def post_raw(bridge, content: bytes, path="/v1/chat/completions"):
    return httpx.post(f"{bridge.url}{path}", content=content, headers={"content-type": "application/json"}, timeout=30)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe\xfa invalid utf-8",
        b'{"model": "x", "messages": [{"role": "user", "content": "\xff"}]}',
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"model": "x", "messages": [{"role": "user", "content": [[[[["deep"]]]]]}]}).encode(),
        b"null",
        b"[]",
        b'"a string"',
    ],
    ids=[
        "empty",
        "not-json",
        "invalid-utf8",
        "invalid-utf8-in-string",
        "deep-nesting",
        "nested-content",
        "null",
        "array",
        "string",
    ],
)
def test_malformed_bodies_get_a_400_in_openai_shape(bridge, content):
    response = post_raw(bridge, content)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "Traceback" not in error["message"]


@pytest.mark.parametrize("n", [0, -1, 11, 10**12, "three", None, 2.5])
def test_image_count_out_of_range_or_wrong_type_is_400(bridge, n):
    response = httpx.post(f"{bridge.url}/v1/images/generations", json={"prompt": "x", "n": n}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "n"


@pytest.mark.parametrize(
    "body",
    [
        {"model": 5, "messages": [{"role": "user", "content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": 7}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "video", "url": "x"}]}]},
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]}],
        },
        {"model": "m", "messages": []},
        {"model": "m", "messages": [{"content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes please"},
    ],
    ids=[
        "model-int",
        "content-int",
        "text-part-int",
        "unknown-part",
        "ftp-url",
        "no-messages",
        "no-role",
        "stream-str",
    ],
)
def test_wrong_types_are_400_naming_the_field(bridge, body):
    response = httpx.post(f"{bridge.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"]


def test_a_body_over_the_limit_is_413_even_without_content_length(bridge):
    bridge.write_config(max_request_bytes=4096)

    def chunks():
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    response = httpx.post(
        f"{bridge.url}/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
