"""The op endpoints against the engine (exactly), against PyTorch where importable,
the seed example, and the binary array form in both directions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app import engine
from app.api import examples
from tests.api.helpers import OP_PATHS, decoded, encoded

RNG_SEED = 20261122

# (op, shapes and arguments): strides, SAME asymmetry, explicit pads, dilation,
# groups, M > 1, NCHW, batch > 1, unbatched PyTorch input, bias.
CONFIGURATIONS: list[tuple[str, dict[str, Any]]] = [
    ("depthwise_conv2d", {"input": (2, 7, 6, 3), "filter": (3, 3, 3, 2), "strides": 2,
                          "padding": "SAME"}),
    ("depthwise_conv2d", {"input": (1, 3, 8, 8), "filter": (2, 3, 3, 1), "strides": [1, 1],
                          "padding": [[0, 0], [0, 0], [1, 2], [0, 1]], "data_format": "NCHW"}),
    ("depthwise_conv2d", {"input": (1, 9, 9, 2), "filter": (3, 3, 2, 3), "strides": 1,
                          "padding": "VALID", "dilations": [2, 2]}),
    ("separable_conv2d", {"input": (1, 8, 8, 3), "depthwise_filter": (3, 3, 3, 2),
                          "pointwise_filter": (1, 1, 6, 4), "strides": [1, 2, 2, 1],
                          "padding": "SAME"}),
    ("separable_conv2d", {"input": (2, 4, 6, 5), "depthwise_filter": (3, 2, 4, 1),
                          "pointwise_filter": (1, 1, 4, 2), "strides": 1, "padding": "valid",
                          "data_format": "NCHW"}),
    ("conv2d", {"input": (1, 6, 6, 4), "filters": (3, 3, 2, 6), "strides": 1,
                "padding": "SAME"}),
    ("conv2d", {"input": (2, 7, 5, 3), "filters": (2, 3, 3, 2), "strides": [2, 1],
                "padding": [[0, 0], [1, 0], [2, 1], [0, 0]], "dilations": 2}),
    ("torch_conv2d", {"input": (2, 4, 6, 6), "weight": (8, 2, 3, 3), "bias": (8,),
                      "stride": 2, "padding": 1, "groups": 2}),
    ("torch_conv2d", {"input": (3, 5, 7), "weight": (6, 1, 3, 2), "stride": 1,
                      "padding": "same", "dilation": [1, 2], "groups": 3}),
    ("torch_conv2d", {"input": (1, 2, 5, 5), "weight": (3, 2, 2, 2), "padding": "valid"}),
]
ARRAY_NAMES = {"input", "filter", "filters", "depthwise_filter", "pointwise_filter", "weight",
               "bias"}


def build(op: str, spec: dict[str, Any], seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(request body, engine keyword arguments) with seeded random arrays."""
    rng = np.random.default_rng(seed)
    arrays = {name: rng.standard_normal(shape) for name, shape in spec.items()
              if name in ARRAY_NAMES}
    scalars = {name: value for name, value in spec.items() if name not in ARRAY_NAMES}
    body = {**{name: array.tolist() for name, array in arrays.items()}, **scalars}
    return body, {**arrays, **scalars}


def engine_output(op: str, arguments: dict[str, Any]) -> np.ndarray:
    return {
        "conv2d": engine.conv2d,
        "depthwise_conv2d": engine.depthwise_conv2d,
        "separable_conv2d": engine.separable_conv2d,
        "torch_conv2d": engine.torch_conv2d,
    }[op](**arguments)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS)))
def test_every_op_endpoint_answers_exactly_what_the_engine_computes(client, index, case) -> None:
    op, spec = case
    body, arguments = build(op, spec, RNG_SEED + index)
    response = client.post(OP_PATHS[op], json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    mine = np.array(answer["output"])
    gold = engine_output(op, arguments)
    assert answer["shape"] == list(gold.shape) == list(mine.shape)
    np.testing.assert_array_equal(mine, gold)  # float64 survives JSON exactly
    assert answer["dtype"] == "float64"
    plan = {
        "conv2d": engine.plan_conv2d, "depthwise_conv2d": engine.plan_depthwise_conv2d,
        "separable_conv2d": engine.plan_separable_conv2d,
        "torch_conv2d": engine.plan_torch_conv2d,
    }[op]
    shapes = [np.shape(arguments[name]) for name in spec if name in ARRAY_NAMES - {"bias"}]
    if op == "torch_conv2d":
        resolved = plan(*shapes, **{k: v for k, v in spec.items()
                                    if k in ("stride", "padding", "dilation", "groups")})
    else:
        resolved = plan(*shapes, **{k: v for k, v in spec.items() if k not in ARRAY_NAMES})
    assert answer["padding"] == resolved.padding.as_dict()
    assert answer["costs"]["output_hw"] == list(resolved.output_hw)


def test_separable_returns_the_depthwise_stage_too(client) -> None:
    body, arguments = build(*CONFIGURATIONS[3], RNG_SEED)
    answer = client.post(OP_PATHS["separable_conv2d"], json=body).json()
    depthwise, output = engine.separable_conv2d_stages(**arguments)
    np.testing.assert_array_equal(np.array(answer["depthwise_output"]), depthwise)
    assert answer["depthwise_shape"] == list(depthwise.shape)
    np.testing.assert_array_equal(np.array(answer["output"]), output)
    assert answer["costs"]["layer"] == "separable"


def test_the_seed_example_through_http(client) -> None:
    answer = client.post(OP_PATHS["depthwise_conv2d"], json=examples.DEPTHWISE).json()
    assert answer["output"] == [[[[0, 36, 9, 27], [0, 54, 9, 27]], [[0, 36, 9, 27],
                                                                    [0, 54, 9, 27]]]]
    assert answer["shape"] == [1, 2, 2, 4]
    assert answer["costs"]["depthwise"]["weights"] == 3 * 3 * 2 * 2
    torch_answer = client.post(OP_PATHS["torch_conv2d"], json=examples.TORCH).json()
    np.testing.assert_array_equal(
        np.array(torch_answer["output"]).transpose(0, 2, 3, 1), np.array(answer["output"])
    )


def test_binary_arrays_in_and_out_round_trip(client) -> None:
    body, arguments = build(*CONFIGURATIONS[0], RNG_SEED)
    body["input"] = encoded(arguments["input"])
    body["filter"] = encoded(arguments["filter"], "float32")  # mixed forms are fine
    body["output_encoding"] = "base64"
    answer = client.post(OP_PATHS["depthwise_conv2d"], json=body).json()
    assert answer["output"]["dtype"] == "float64"
    filter32 = arguments["filter"].astype(np.float32).astype(np.float64)
    gold = engine.depthwise_conv2d(arguments["input"], filter32, 2, "SAME")
    np.testing.assert_array_equal(decoded(answer["output"]), gold)


def test_float32_results_print_as_their_shortest_float32_repr(client) -> None:
    body, arguments = build(*CONFIGURATIONS[5], RNG_SEED)
    body["dtype"] = "float32"
    answer = client.post(OP_PATHS["conv2d"], json=body).json()
    assert answer["dtype"] == "float32"
    gold = engine.conv2d(arguments["input"].astype(np.float32),
                         arguments["filters"].astype(np.float32), 1, "SAME")
    mine = np.array(answer["output"], dtype=np.float64)
    np.testing.assert_array_equal(mine.astype(np.float32), gold)
    shortest = [repr(float(str(value))) for value in gold.ravel()[:20]]
    assert [repr(float(value)) for value in mine.ravel()[:20]] == shortest
    base64_answer = client.post(
        OP_PATHS["conv2d"], json={**body, "output_encoding": "base64"}
    ).json()
    np.testing.assert_array_equal(decoded(base64_answer["output"]), gold)


def test_lower_case_padding_and_data_format_defaults_mirror_tf(client) -> None:
    body, _ = build(*CONFIGURATIONS[0], RNG_SEED)
    upper = client.post(OP_PATHS["depthwise_conv2d"], json=body).json()
    lower = client.post(OP_PATHS["depthwise_conv2d"], json={**body, "padding": "same"}).json()
    assert upper["output"] == lower["output"]
    assert upper["data_format"] == "NHWC"


@pytest.mark.torch
@pytest.mark.parametrize(("index", "case"), list(enumerate(CONFIGURATIONS)))
def test_op_endpoints_agree_with_pytorch(client, index, case) -> None:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    op, spec = case
    body, arguments = build(op, spec, RNG_SEED + index)
    mine = np.array(client.post(OP_PATHS[op], json=body).json()["output"])

    def tensor(array: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array))

    if op == "torch_conv2d":
        bias = arguments.get("bias")
        gold = functional.conv2d(
            tensor(arguments["input"]), tensor(arguments["weight"]),
            None if bias is None else tensor(bias), stride=spec.get("stride", 1),
            padding=spec.get("padding", 0), dilation=spec.get("dilation", 1),
            groups=spec.get("groups", 1),
        ).numpy()
    else:
        # The code export's PyTorch translation is tested elsewhere; here the formula:
        # resolved pads, then PyTorch on NCHW with TF's weights converted.
        plan_args = {k: v for k, v in spec.items() if k not in ARRAY_NAMES}
        shapes = [np.shape(arguments[name]) for name in spec if name in ARRAY_NAMES]
        plan = {"conv2d": engine.plan_conv2d, "depthwise_conv2d": engine.plan_depthwise_conv2d,
                "separable_conv2d": engine.plan_separable_conv2d}[op](*shapes, **plan_args)
        x = arguments["input"]
        if plan.data_format == "NHWC":
            x = x.transpose(0, 3, 1, 2)
        pads = plan.padding
        x = functional.pad(tensor(x), (pads.pad_left, pads.pad_right, pads.pad_top,
                                       pads.pad_bottom))
        geometry = {"stride": plan.strides, "dilation": plan.dilations}
        if op == "conv2d":
            weight = tensor(arguments["filters"].transpose(3, 2, 0, 1))
            out = functional.conv2d(x, weight, groups=plan.groups, **geometry)
        else:
            name = "filter" if op == "depthwise_conv2d" else "depthwise_filter"
            kh, kw, channels, multiplier = arguments[name].shape
            weight = tensor(arguments[name].reshape(kh, kw, 1, channels * multiplier)
                            .transpose(3, 2, 0, 1))
            out = functional.conv2d(x, weight, groups=channels, **geometry)
            if op == "separable_conv2d":
                out = functional.conv2d(
                    out, tensor(arguments["pointwise_filter"].transpose(3, 2, 0, 1))
                )
        gold = out.numpy()
        if plan.data_format == "NHWC":
            gold = gold.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(mine, gold, rtol=1e-12, atol=1e-12)


def test_identical_requests_get_the_same_bytes_from_the_cache(client, client_with) -> None:
    from app.api.cache import LARGEST_BODY, Answer, ResponseCache

    body, _ = build(*CONFIGURATIONS[3], RNG_SEED)
    first = client.post(OP_PATHS["separable_conv2d"], json=body)
    again = client.post(OP_PATHS["separable_conv2d"], json=body)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert len(client.app.state.response_cache) == 1
    # Answers depend on an application's settings: another app does not share them.
    small = client_with(max_elements=10)
    assert small.post(OP_PATHS["separable_conv2d"], json=body).status_code == 413
    compressed = client.post(OP_PATHS["separable_conv2d"], json=body,
                             headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.content == first.content  # httpx decompressed it
    cache = ResponseCache(capacity=40, largest=35)
    small_answer, large_answer = Answer(b"1" * 5, b"2" * 10), Answer(b"1" * 30, b"2" * 10)
    cache.put(("a", b"1"), small_answer)
    cache.put(("b", b"2"), large_answer)  # larger than `largest`: not kept
    cache.put(("c", b"3"), Answer(b"1" * 20, b"2" * 10))  # over capacity: "a" goes
    assert cache.get(("a", b"1")) is None and cache.get(("b", b"2")) is None
    assert cache.get(("c", b"3")) is not None and len(cache) == 1
    assert ResponseCache.key("r", b" " * (LARGEST_BODY + 1)) is None
