"""What an endpoint allocates beyond its inputs is bounded from shapes, before it is
allocated: the equivalent kernel and the fitted pair of ``/factorize``, the depthwise
intermediate of ``/lessons/groups``, the depthwise kernel's repeated input."""

from __future__ import annotations

import numpy as np

from app.api import arrays
from tests.api.helpers import OP_PATHS, assert_error, encoded


def never_loaded(monkeypatch) -> None:
    """Fail the test if an array's values are read (the refusal must come from shapes)."""

    def never(*args: object) -> object:
        raise AssertionError("an array was loaded before the limit check")

    monkeypatch.setattr(arrays, "_from_nested", never)
    monkeypatch.setattr(arrays, "_decode", never)


def declared(shape: tuple[int, ...]) -> dict[str, object]:
    """A base64 array declaring ``shape`` (its data is never read: a limit refuses first)."""
    return {**encoded(np.zeros(1)), "shape": list(shape)}


def test_the_equivalent_kernel_of_a_pair_is_bounded_before_it_is_computed(
        client_with, monkeypatch) -> None:
    client = client_with(max_elements=1000, max_channels=512)
    # Each filter is small (45 and 64 elements); their equivalent kernel is 3x3x5x64 = 2880.
    body = {"depthwise_filter": declared((3, 3, 5, 1)),
            "pointwise_filter": declared((1, 1, 5, 64))}
    never_loaded(monkeypatch)
    error = assert_error(client.post("/api/v1/factorize", json=body), 413,
                         "too_many_elements", "pointwise_filter")
    assert "equivalent kernel" in error["message"] and "2,880" in error["message"]


def test_the_equivalent_kernel_work_is_bounded(client_with, monkeypatch) -> None:
    client = client_with(max_macs=10_000)
    body = {"depthwise_filter": declared((3, 3, 4, 64)),
            "pointwise_filter": declared((1, 1, 256, 8))}  # 3*3*4*64*8 = 18 432 MACs
    never_loaded(monkeypatch)
    assert_error(client.post("/api/v1/factorize", json=body), 413, "too_much_work",
                 "pointwise_filter")


def test_the_fitted_pair_is_bounded_by_the_channel_multiplier(client_with, monkeypatch) -> None:
    client = client_with(max_elements=10_000)
    body = {"filters": declared((3, 3, 2, 4)), "channel_multiplier": 100_000}
    never_loaded(monkeypatch)
    error = assert_error(client.post("/api/v1/factorize", json=body), 413,
                         "too_many_channels", "channel_multiplier")
    assert "max_channels" in error["message"]
    body = {"filters": declared((3, 3, 2, 4)), "channel_multiplier": 256}  # 3*3*2*256 = 4608
    client = client_with(max_elements=4000)
    error = assert_error(client.post("/api/v1/factorize", json=body), 413,
                         "too_many_elements", "channel_multiplier")
    assert "depthwise_filter" in error["message"]


def test_a_fitted_pair_within_the_limits_is_still_answered(client_with) -> None:
    client = client_with(max_elements=200)
    filters = np.arange(3 * 3 * 2 * 4, dtype=float).reshape(3, 3, 2, 4)
    response = client.post("/api/v1/factorize", json={"filters": filters.tolist(),
                                                      "channel_multiplier": 2})
    assert response.status_code == 200, response.text
    assert response.json()["approximation"]["channel_multiplier"] == 2


def test_the_groups_lesson_bounds_its_depthwise_intermediate(client_with) -> None:
    client = client_with(max_elements=300)
    # Grouped conv: 6x6x4 input, 2 groups, 8 outputs: output 4*4*8 = 128, allowed. Its
    # depthwise formulation has multiplier O/G = 4: 4*4*(4*4) = 256 outputs and the
    # padded input 6*6*4 repeated 4 times = 576 elements: refused.
    body = {
        "input": np.ones((1, 6, 6, 4)).tolist(),
        "filters": np.ones((3, 3, 2, 8)).tolist(),
        "strides": 1, "padding": "VALID",
    }
    assert client.post(OP_PATHS["conv2d"], json=body).status_code == 200
    error = assert_error(client.post("/api/v1/lessons/groups", json=body), 413,
                         "too_many_elements", "filters")
    assert "576" in error["message"]


def test_the_depthwise_kernels_repeated_input_is_bounded(client_with, monkeypatch) -> None:
    # A large stride keeps the output small (1x1x64) while the depthwise kernel would
    # repeat the whole padded input (64x64x1) 64 times: 262 144 elements.
    client = client_with(max_elements=100_000)
    body = {"input": declared((1, 64, 64, 1)), "filter": declared((1, 1, 1, 64)),
            "strides": [1, 64, 64, 1], "padding": "VALID"}
    never_loaded(monkeypatch)
    error = assert_error(client.post(OP_PATHS["depthwise_conv2d"], json=body), 413,
                         "too_many_elements", "filter")
    assert "262,144" in error["message"] and "repeated" in error["message"]


def test_a_grouped_convolutions_window_copies_are_bounded(client_with, monkeypatch) -> None:
    # 2 groups of 2 channels, 2 outputs: 8x8 positions x 9 taps x 4 channels = 2304 window
    # values, copied once more to order them by group: 4608 > 4000, though 2304 MACs fit.
    client = client_with(max_macs=4000)
    body = {"input": declared((1, 10, 10, 4)), "filters": declared((3, 3, 2, 2)),
            "strides": 1, "padding": "VALID"}
    never_loaded(monkeypatch)
    error = assert_error(client.post(OP_PATHS["conv2d"], json=body), 413, "too_much_work",
                         "input")
    assert "4,608" in error["message"]
