"""The published schema says what the server takes (schemathesis checks it broadly in
test_fuzz.py; these are the disagreements it found, one by one)."""

from __future__ import annotations

from app.api import examples
from tests.api.helpers import OP_PATHS, assert_error


def test_integers_written_with_a_zero_fraction_are_integers(client) -> None:
    body = {**examples.DEPTHWISE, "strides": [1.0, 1, 1, 1.0]}
    response = client.post(OP_PATHS["depthwise_conv2d"], json=body)
    assert response.status_code == 200, response.text
    assert response.json()["output"] == examples.SEED_OUTPUT
    for value in (1.5, "1", True):
        assert_error(client.post(OP_PATHS["depthwise_conv2d"],
                                 json={**examples.DEPTHWISE, "strides": value}),
                     422, "invalid_value", "strides")


def test_each_array_fields_base64_schema_has_its_rank_and_a_working_example(client) -> None:
    schemas = client.app.openapi()["components"]["schemas"]
    for name, rank in (("EncodedArray4D", (4, 4)), ("EncodedArray3or4D", (3, 4)),
                       ("EncodedArray1D", (1, 1))):
        shape = schemas[name]["properties"]["shape"]
        assert (shape["minItems"], shape["maxItems"]) == rank
        assert shape["items"]["minimum"] == 1
    example = schemas["EncodedArray4D"]["examples"][0]
    body = {**examples.DEPTHWISE, "input": example, "filter": [[[[1]]]]}
    response = client.post(OP_PATHS["depthwise_conv2d"], json=body)
    assert response.status_code == 200, response.text
    assert response.json()["output"] == [[[[1.0], [2.0]], [[3.0], [4.0]]]]


def test_factorizes_two_questions_are_two_schemas(client) -> None:
    schema = client.app.openapi()["components"]["schemas"]["FactorizeRequest"]
    members = schema["oneOf"]
    required = sorted(sorted(member.get("required", [])) for member in [
        client.app.openapi()["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        for ref in members])
    assert required == [["depthwise_filter", "pointwise_filter"], ["filters"]]


def test_the_lessons_schemas_take_only_nhwc(client) -> None:
    schemas = client.app.openapi()["components"]["schemas"]
    groups = schemas["LessonGroupsRequest"]["properties"]["data_format"]
    assert groups.get("const") == "NHWC" or groups.get("enum") == ["NHWC"]
