"""Every ``POST /api/v1/code`` snippet runs as printed and holds the API's numbers.

For a seeded set of accepted configurations (conv2d standard/grouped/depthwise-as-groups,
depthwise, separable, PyTorch conv2d; NHWC and NCHW; float32 and float64; strides 1-3 and
unequal; dilations 1-3, with strides for conv2d; SAME/VALID/explicit and PyTorch's padding
forms; bias; unbatched; empty outputs), the TF (``tf.nn``), Keras and PyTorch snippets
each run in their own process (``tests/snippet_runner.py``: a fork server per library, the
snippet in an empty namespace, nothing of the test importable) and must leave in ``output``
the API's answer: same shape, same dtype, values within 1e-9 (float64) or 1e-5 (float32)
of the largest magnitude. A Keras snippet's layer must also report ``count_params()`` equal
to ConvLens's Keras cost. The five failures issue 10 found each have a named test below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import engine
from app.api import examples
from app.main import create_app
from app.settings import Settings
from app.teaching import codegen
from tests.api.helpers import OP_PATHS, decoded
from tests.engine.test_ops import draw_tf_case, draw_torch_case
from tests.references import REASON
from tests.snippet_runner import (
    SnippetResult,
    SnippetServer,
    importable,
    run_fresh,
    snippet_servers,
)

pytestmark = pytest.mark.tf

LIBRARIES = {"tf": "tf", "keras": "keras", "pytorch": "torch"}
TOLERANCE = {"float64": 1e-9, "float32": 1e-5}

# Seeds of the engine's generators (tests/engine/test_ops.py), apart from the engine's own.
TF_SEEDS = {"depthwise_conv2d": range(100, 140), "separable_conv2d": range(100, 125),
            "conv2d": range(100, 125)}
TORCH_SEEDS = range(100, 122)
FILTER_NAMES = {"conv2d": ("filters",), "depthwise_conv2d": ("filter",),
                "separable_conv2d": ("depthwise_filter", "pointwise_filter")}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, SnippetServer]]:
    """The fork servers, importing their libraries side by side. TF and Keras are this
    module's point; without torch the PyTorch snippets are skipped (with a warning line)."""
    yield from snippet_servers(LIBRARIES, REASON)


@pytest.fixture(scope="module")
def api() -> TestClient:
    return TestClient(create_app(Settings()))


# ------------------------------------------------------------------ configurations


def _float_kind(kind: str, seed: int) -> str:
    return kind if kind != "int" else ("float64", "float32")[seed % 2]


def tf_configuration(op: str, seed: int) -> tuple[dict[str, Any], frozenset[str]]:
    case = draw_tf_case(seed, op)
    arrays = [case.filters] if case.pointwise is None else [case.filters, case.pointwise]
    body: dict[str, Any] = {"input": case.x.tolist()}
    body.update({name: array.tolist() for name, array in zip(FILTER_NAMES[op], arrays,
                                                             strict=True)})
    body.update({key: value for key, value in case.engine_kwargs.items() if value is not None})
    dtype = _float_kind(str(case.x.dtype) if case.x.dtype.kind == "f" else "int", seed)
    body["dtype"] = dtype
    return body, case.features | {op, dtype}


def torch_configuration(seed: int) -> tuple[dict[str, Any], frozenset[str]]:
    case = draw_torch_case(seed)
    padding = case.kwargs["padding"]
    body: dict[str, Any] = {
        "input": case.x.tolist(), "weight": case.weight.tolist(),
        "stride": case.kwargs["stride"], "dilation": case.kwargs["dilation"],
        "padding": list(padding) if isinstance(padding, tuple) else padding,
        "groups": case.kwargs["groups"],
    }
    if case.bias is not None:
        body["bias"] = case.bias.tolist()
    dtype = _float_kind(str(case.x.dtype) if case.x.dtype.kind == "f" else "int", seed)
    body["dtype"] = dtype
    return body, case.features | {"torch_conv2d", dtype}


CONFIGURATIONS: list[tuple[str, int]] = [
    *((op, seed) for op, seeds in TF_SEEDS.items() for seed in seeds),
    *(("torch_conv2d", seed) for seed in TORCH_SEEDS),
]


def configuration(op: str, seed: int) -> tuple[dict[str, Any], frozenset[str]]:
    return torch_configuration(seed) if op == "torch_conv2d" else tf_configuration(op, seed)


# ------------------------------------------------------------------ checks


def plan_of(op: str, body: dict[str, Any]) -> engine.ConvPlan:
    shape = np.shape
    if op == "torch_conv2d":
        return engine.plan_torch_conv2d(shape(body["input"]), shape(body["weight"]),
                                        body["stride"], body["padding"], body["dilation"],
                                        body["groups"])
    options = [body.get(key) for key in ("strides", "padding", "data_format", "dilations")]
    filters = [shape(body[name]) for name in FILTER_NAMES[op]]
    planner = {"conv2d": engine.plan_conv2d, "depthwise_conv2d": engine.plan_depthwise_conv2d,
               "separable_conv2d": engine.plan_separable_conv2d}[op]
    return planner(shape(body["input"]), *filters, *options)


def api_answer(api: TestClient, op: str, body: dict[str, Any]) -> tuple[dict[str, str], Any]:
    code = api.post("/api/v1/code", json={"op": op, **body})
    assert code.status_code == 200, code.text
    answer = api.post(OP_PATHS[op], json={**body, "output_encoding": "base64"})
    assert answer.status_code == 200, answer.text
    output = decoded(answer.json()["output"])
    assert list(output.shape) == code.json()["output_shape"]
    return code.json(), output


def assert_holds(result: SnippetResult, answer: np.ndarray, dtype: str, language: str,
                 source: str) -> None:
    context = f"the {language} snippet\n{source[-2500:]}\n--- its output ---\n{result.log[-2500:]}"
    assert result.ok, f"{context}\nfailed"
    assert result.output is not None
    assert result.output.shape == answer.shape, context
    assert result.output.dtype == np.dtype(dtype), context
    tolerance = TOLERANCE[dtype]
    scale = max(1.0, float(np.abs(answer).max(initial=0.0)))
    np.testing.assert_allclose(result.output, answer, rtol=tolerance, atol=tolerance * scale,
                               err_msg=context)


def run_all(servers: dict[str, SnippetServer], snippets: dict[str, str],
            languages: tuple[str, ...] = ("tf", "keras", "pytorch"),
            ) -> dict[str, SnippetResult]:
    """The snippets of one configuration, the libraries side by side."""
    languages = tuple(language for language in languages if language in servers)
    for language in languages:
        servers[language].submit(snippets[language])
    return {language: servers[language].result() for language in languages}


def check_configuration(servers: dict[str, SnippetServer], api: TestClient, op: str,
                        body: dict[str, Any],
                        languages: tuple[str, ...] = ("tf", "keras", "pytorch"),
                        ) -> dict[str, SnippetResult]:
    snippets, answer = api_answer(api, op, body)
    results = run_all(servers, snippets, languages)
    for language, result in results.items():
        assert_holds(result, answer, body["dtype"], language, snippets[language])
    keras_result = results.get("keras")
    if keras_result is not None and keras_result.count_params is not None:
        # The API's count is what the real Keras layer reports.
        assert keras_result.count_params == snippets["keras_count_params"]
        use_bias = op == "torch_conv2d" and "bias" in body
        assert snippets["keras_count_params"] == codegen.keras_parameter_count(
            op, plan_of(op, body), use_bias
        )
    return results


# ------------------------------------------------------------------ the seeded set


@pytest.mark.parametrize(("op", "seed"), CONFIGURATIONS)
def test_every_snippet_runs_and_holds_the_api_answer(servers, api, op: str, seed: int) -> None:
    body, _ = configuration(op, seed)
    check_configuration(servers, api, op, body)


def test_the_seeded_set_covers_the_issue_axes() -> None:
    assert len(CONFIGURATIONS) >= 100
    features = set().union(*(configuration(op, seed)[1] for op, seed in CONFIGURATIONS))
    required = {
        "conv2d", "depthwise_conv2d", "separable_conv2d", "torch_conv2d", "grouped",
        "depthwise_groups", "standard", "NHWC", "NCHW", "float32", "float64", "stride1",
        "stride2", "stride3", "stride_unequal", "dilation1", "dilation2", "dilation3",
        "dilation_with_stride", "same_odd", "same_even", "valid", "explicit", "empty_output",
        "smaller_than_window", "padding_int", "padding_pair", "padding_same", "padding_valid",
        "bias", "unbatched",
    }
    assert required <= features, required - features


# ------------------------------------------------------------------ issue 10's failures


def _arrays(seed: int, **shapes: tuple[int, ...]) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape).tolist() for name, shape in shapes.items()}


def test_tf_snippet_with_nchw_runs_on_cpu(servers, api) -> None:
    """Failure 1: TF on CPU refuses NCHW (float64 always): the snippet transposes."""
    for dtype in ("float64", "float32"):
        body = {**_arrays(1, input=(1, 3, 7, 6), filter=(2, 3, 3, 4)), "strides": [1, 1, 1, 1],
                "padding": "VALID", "data_format": "NCHW", "dilations": [2, 1], "dtype": dtype}
        results = check_configuration(servers, api, "depthwise_conv2d", body)
        assert results["tf"].output.shape == (1, 12, 5, 4)


def test_unequal_strides_in_float64_run_in_tf_and_keras(servers, api) -> None:
    """Failure 2: TF's CPU depthwise kernel refuses unequal strides in float64."""
    body = {**_arrays(2, input=(1, 7, 5, 2), filter=(3, 3, 2, 2)), "strides": [1, 2, 1, 1],
            "padding": "SAME", "dtype": "float64"}
    check_configuration(servers, api, "depthwise_conv2d", body)
    separable = {**_arrays(3, input=(2, 6, 7, 3), depthwise_filter=(2, 3, 3, 2),
                           pointwise_filter=(1, 1, 6, 4)),
                 "strides": [1, 1, 3, 1], "padding": [[0, 0], [1, 0], [2, 1], [0, 0]],
                 "dtype": "float64"}
    check_configuration(servers, api, "separable_conv2d", separable)


def test_keras_explicit_and_pytorch_padding_stay_float64(servers, api) -> None:
    """Failure 3: ZeroPadding2D has no dtype and rounded float64 to float32 (~2e-8 off)."""
    depthwise = {**_arrays(4, input=(1, 6, 5, 3), filter=(3, 2, 3, 2)), "strides": 1,
                 "padding": [[0, 0], [2, 1], [0, 3], [0, 0]], "dtype": "float64"}
    torch_body = {**_arrays(5, input=(2, 4, 5, 6), weight=(6, 2, 3, 3), bias=(6,)),
                  "stride": 1, "padding": 1, "dilation": 1, "groups": 2, "dtype": "float64"}
    for op, body in (("depthwise_conv2d", depthwise), ("torch_conv2d", torch_body)):
        results = check_configuration(servers, api, op, body, ("keras",))
        snippets, answer = api_answer(api, op, body)
        np.testing.assert_allclose(results["keras"].output, answer, rtol=1e-12, atol=1e-12)


def test_empty_outputs_run_in_every_library(servers, api) -> None:
    """Failure 4: Keras and PyTorch refuse an empty output, TF float32 (oneDNN) mis-shapes it."""
    body = {**_arrays(6, input=(3, 8, 1, 6), filter=(3, 4, 6, 1)), "strides": [1, 1, 3, 1],
            "padding": "VALID", "dtype": "float32"}
    results = check_configuration(servers, api, "depthwise_conv2d", body)
    assert all(result.output.shape == (3, 6, 0, 6) for result in results.values())
    smaller = {**_arrays(7, input=(1, 1, 1, 1), filter=(4, 4, 1, 1)), "strides": 2,
               "padding": "VALID", "dtype": "float32"}
    results = check_configuration(servers, api, "depthwise_conv2d", smaller)
    assert results["tf"].output.shape == (1, 0, 0, 1)


def test_keras_conv2d_with_stride_2_and_dilation_2(servers, api) -> None:
    """Failure 5: Keras's Conv2D refuses strides > 1 with dilation_rate > 1."""
    for padding in ("SAME", "VALID"):
        body = {**_arrays(8, input=(1, 9, 8, 4), filters=(3, 3, 2, 6)), "strides": 2,
                "padding": padding, "dilations": 2, "dtype": "float64"}
        results = check_configuration(servers, api, "conv2d", body)
        assert results["keras"].count_params == 3 * 3 * 2 * 6
    torch_body = {**_arrays(9, input=(1, 3, 9, 9), weight=(3, 3, 2, 2)), "stride": 2,
                  "padding": 1, "dilation": 2, "groups": 1, "dtype": "float64"}
    check_configuration(servers, api, "torch_conv2d", torch_body)


def test_separable_snippet_explains_its_one_bias(servers, api) -> None:
    body = {**examples.CODE, "dtype": "float64"}
    body.pop("op", None)
    snippets, _ = api_answer(api, "separable_conv2d", body)
    assert "ONE bias" in snippets["keras"] and "after the pointwise step" in snippets["keras"]
    results = check_configuration(servers, api, "separable_conv2d", body, ("keras",))
    plan = plan_of("separable_conv2d", body)
    assert results["keras"].count_params == codegen.keras_parameter_count(
        "separable_conv2d", plan, use_bias=False)


# ------------------------------------------------------------------ fresh interpreters


@pytest.mark.parametrize("language", ["tf", "keras", "pytorch"])
def test_the_seed_snippets_run_in_a_fresh_interpreter(api, language: str, tmp_path) -> None:
    """The fork server changes nothing: a brand-new ``python -I`` gets the same answer."""
    module = {"tf": "tensorflow", "keras": "keras", "pytorch": "torch"}[language]
    if not importable(module):
        pytest.skip(f"{module} is not importable: skipped")
    body = {key: value for key, value in examples.CODE.items() if key != "op"}
    body = {**body, "data_format": "NCHW",
            "input": np.transpose(np.array(body["input"]), (0, 3, 1, 2)).tolist()}
    snippets, answer = api_answer(api, "separable_conv2d", body)
    result = run_fresh(snippets[language], tmp_path)
    assert_holds(result, answer, "float64", language, snippets[language])


def test_a_snippet_cannot_lean_on_the_servers_imports(servers) -> None:
    """The fork server imported TF, but a snippet that does not import it cannot use it."""
    result = servers["tf"].run("output = tf.ones(2)\n")
    assert not result.ok and "NameError: name 'tf' is not defined" in result.log
    result = servers["tf"].run("import tests.references\n")  # no checkout on its path
    assert not result.ok and "No module named 'tests'" in result.log
