from __future__ import annotations

import pytest

from callister.agents.llm import PLAN_SCHEMA, REFLECT_SCHEMA, REPLY_SCHEMA, extract_json
from callister.agents.llm.base import LLMInvalid
from callister.agents.schema import SchemaError, validate


def test_validator_accepts_and_names_the_path_of_errors() -> None:
    validate({"say": "hi"}, REPLY_SCHEMA)
    validate({"beliefs": [{"about": 3, "text": "X is hostile", "hostile": True}]}, REFLECT_SCHEMA)
    validate({"action": "flee", "say": "run"}, PLAN_SCHEMA)
    cases = [
        ({}, REPLY_SCHEMA, "$: lacks required 'say'"),
        ({"say": ""}, REPLY_SCHEMA, "$.say: shorter"),
        ({"say": "x" * 401}, REPLY_SCHEMA, "$.say: longer"),
        ({"say": "hi", "extra": 1}, REPLY_SCHEMA, "unexpected ['extra']"),
        ({"say": 3}, REPLY_SCHEMA, "expected string"),
        ({"beliefs": [{"about": True, "text": "abc"}]}, REFLECT_SCHEMA, "$.beliefs[0].about"),
        ({"beliefs": [{"about": 1.5, "text": "abc"}]}, REFLECT_SCHEMA, "expected integer"),
        ({"action": "dance", "say": "x"}, PLAN_SCHEMA, "$.action"),
    ]
    for value, schema, message in cases:
        with pytest.raises(SchemaError) as err:
            validate(value, schema)
        assert message in str(err.value)
    validate(3, {"type": "number", "minimum": 1, "maximum": 5})
    with pytest.raises(SchemaError, match="above the maximum"):
        validate(6, {"type": "number", "maximum": 5})
    with pytest.raises(SchemaError, match="does not match"):
        validate("abc", {"type": "string", "pattern": "^x"})


def test_json_is_found_inside_chatty_answers() -> None:
    assert extract_json('{"say": "hi"}') == {"say": "hi"}
    assert extract_json('```json\n{"say": "hi"}\n```') == {"say": "hi"}
    assert extract_json('Sure! Here: {"say": "a {brace} \\" quote"} hope it helps') == {
        "say": 'a {brace} " quote'
    }
    with pytest.raises(LLMInvalid):
        extract_json("I am a language model and I will not")
