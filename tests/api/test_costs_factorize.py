"""Costs and factorize endpoints against the engine."""

from __future__ import annotations

import numpy as np

from app import engine
from app.api import examples
from tests.api.helpers import assert_error, decoded, encoded


def test_costs_quote_the_teaching_numbers(client) -> None:
    answer = client.post("/api/v1/costs", json=examples.COSTS).json()
    costs = answer["costs"]
    assert costs["standard"]["weights"] == 108
    assert costs["depthwise"]["weights"] == 27
    assert costs["pointwise"]["weights"] == 12
    assert costs["separable"]["weights"] == 39
    assert costs == engine.conv_costs((5, 5), 3, 4, (3, 3), padding="SAME").as_dict()


def test_a_sweep_is_one_conv_costs_per_value(client) -> None:
    body = {"input_hw": 32, "in_channels": 3, "out_channels": 8, "kernel_hw": 3,
            "channel_multiplier": 2, "groups": 1, "strides": [2, 2],
            "padding": [[1, 1], [0, 1]], "batch": 4,
            "sweep": {"parameter": "kernel_hw", "values": [1, 3, [5, 3]]}}
    answer = client.post("/api/v1/costs", json=body).json()
    fixed = {k: v for k, v in body.items() if k not in ("sweep", "kernel_hw")}
    gold = engine.cost_sweep("kernel_hw", [1, 3, [5, 3]], **fixed)
    assert answer["sweep"]["costs"] == [entry.as_dict() for entry in gold]
    assert answer["sweep"]["parameter"] == "kernel_hw"


def test_costs_errors(client) -> None:
    assert_error(client.post("/api/v1/costs", json={**examples.COSTS, "groups": 2}), 422,
                 "invalid_configuration", "groups")
    assert_error(client.post("/api/v1/costs", json={**examples.COSTS, "in_channels": 0}), 422,
                 "invalid_value", "in_channels")
    sweep = {"parameter": "depth", "values": [1]}
    assert_error(client.post("/api/v1/costs", json={**examples.COSTS, "sweep": sweep}), 422,
                 "invalid_value", "sweep")


def test_factorize_a_standard_kernel(client) -> None:
    rng = np.random.default_rng(7)
    filters = rng.standard_normal((3, 3, 2, 5))
    answer = client.post(
        "/api/v1/factorize", json={"filters": filters.tolist(), "channel_multiplier": 2}
    ).json()
    fit = engine.separable_approximation(filters, 2)
    approximation = answer["approximation"]
    np.testing.assert_array_equal(np.array(approximation["depthwise_filter"]),
                                  fit.depthwise_filter)
    np.testing.assert_array_equal(np.array(approximation["pointwise_filter"]),
                                  fit.pointwise_filter)
    assert approximation["relative_error"] == fit.relative_error
    assert approximation["exact"] is fit.exact
    errors = engine.approximation_errors(filters)
    assert [entry["relative_error"] for entry in answer["errors"]] == errors.tolist()
    assert [entry["channel_multiplier"] for entry in answer["errors"]] == [1, 2, 3, 4, 5]


def test_factorize_a_separable_pair_in_binary(client) -> None:
    rng = np.random.default_rng(8)
    depthwise, pointwise = rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((1, 1, 4, 3))
    answer = client.post("/api/v1/factorize", json={
        "depthwise_filter": encoded(depthwise), "pointwise_filter": encoded(pointwise),
        "output_encoding": "base64",
    }).json()
    np.testing.assert_array_equal(decoded(answer["equivalent_kernel"]),
                                  engine.equivalent_kernel(depthwise, pointwise))
    assert answer["equivalent_kernel_shape"] == [3, 3, 2, 3]
    # Rank <= M per channel: the best fit at M = 2 is exact.
    assert answer["errors"][1]["relative_error"] < 1e-12


def test_factorize_needs_exactly_one_question(client) -> None:
    assert_error(client.post("/api/v1/factorize", json={}), 422, "missing_field", "filters")
    both = {**examples.FACTORIZE_PAIR, "filters": examples.FACTORIZE_APPROXIMATE["filters"]}
    assert_error(client.post("/api/v1/factorize", json=both), 422, "invalid_configuration",
                 "filters")
    half = {"depthwise_filter": examples.FACTORIZE_PAIR["depthwise_filter"]}
    assert_error(client.post("/api/v1/factorize", json=half), 422, "missing_field",
                 "pointwise_filter")
    wrong = {**examples.FACTORIZE_PAIR, "pointwise_filter": [[[[1, 2]], [[3, 4]]]]}
    assert_error(client.post("/api/v1/factorize", json=wrong), 422, "invalid_configuration",
                 "pointwise_filter")
