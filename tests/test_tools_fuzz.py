"""Bad tool input never gives a 500: /v1/responses fuzzed from the app's own OpenAPI schema, and the
chat completion tool fields (not in that schema) fuzzed with arbitrary JSON; in-process, on a ScriptedPage
whose model answers with a tool call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scripted_page import ScriptedPage, in_process_app, says

MODELS = {"gpt-4o": "0199f060-b306-7e1f-aeae-0ebb4e3f1122"}
ANSWER = '<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>'
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["function", "f", "auto"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["type", "function", "name", "parameters", "x"]), inner, max_size=3)
    ),
    max_leaves=12,
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    page = ScriptedPage(says(ANSWER))
    return in_process_app(Path(tmp_path_factory.mktemp("fuzz")), page, MODELS, protocol="create")


@pytest.fixture(scope="module")
def http(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"message", "type", "code", "param"}


def test_fuzzed_responses_requests_never_get_a_server_error(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    @FUZZ
    @given(case=schema["/v1/responses"]["POST"].as_strategy())
    def check(case):
        assert_no_server_error(case.call())

    check()


def test_fuzzed_chat_tool_fields_never_get_a_server_error(http):
    @FUZZ
    @given(tools=JSON, choice=JSON, parallel=JSON, stream=st.booleans())
    def check(tools, choice, parallel, stream):
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": stream}
        body |= {"tools": tools, "tool_choice": choice, "parallel_tool_calls": parallel}
        assert_no_server_error(http.post("/v1/chat/completions", json=body))

    check()


def test_fuzzed_responses_tools_and_items_never_get_a_server_error(http):
    @FUZZ
    @given(tools=JSON, choice=JSON, items=st.lists(JSON, max_size=3))
    def check(tools, choice, items):
        body = {"model": "gpt-4o", "input": items or "hi", "tools": tools, "tool_choice": choice}
        assert_no_server_error(http.post("/v1/responses", json=body))

    check()
