"""Training runs: the accuracy the issue promises, determinism, and every way a run ends."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.lab import LabConfig, LabLimits, load_digits, train, training

pytest.importorskip("sklearn", reason="the digits dataset needs scikit-learn (the lab extra)")

TIMING = {"seconds", "forward_seconds", "backward_seconds"}


def without_timing(events: list[dict]) -> list[dict]:
    return [{key: value for key, value in event.items() if key not in TIMING} for event in events]


def test_a_standard_first_layer_passes_90_percent_on_digits_within_8_epochs() -> None:
    events = list(train(LabConfig(), load_digits()))
    assert [event["event"] for event in events] == ["header"] + ["epoch"] * 8 + ["end"]
    accuracies = [event["test_accuracy"] for event in events if event["event"] == "epoch"]
    assert max(accuracies) >= 0.90
    assert events[-1]["test_accuracy"] == accuracies[-1] >= 0.90
    epoch = events[1]
    assert set(epoch) >= {"epoch", "train_loss", "train_accuracy", "test_accuracy", "seconds"}
    assert epoch["seconds"] >= epoch["forward_seconds"] + epoch["backward_seconds"] > 0
    assert len(epoch["filters"]) == 8 and len(epoch["filters"][0]) == 3
    header = events[0]
    assert header["dataset"]["train_examples"] == 1438
    assert header["costs"]["params"] == 1370


@pytest.mark.parametrize(
    "config",
    [
        LabConfig(first_layer="separable", channel_multiplier=2, epochs=2, train_size=300),
        LabConfig(first_layer="separable_fixed_pointwise", optimizer="sgd", epochs=2,
                  train_size=300),
        LabConfig(first_layer="depthwise", channel_multiplier=4, epochs=2, train_size=300,
                  depthwise_fan_in="kh_kw_c"),
    ],
    ids=["separable_m2_adam", "fixed_pointwise_sgd", "depthwise_wrong_fan_in"],
)
def test_the_same_config_gives_the_same_numbers_bit_for_bit(config: LabConfig) -> None:
    first = without_timing(list(train(config, load_digits())))
    second = without_timing(list(train(config, load_digits())))
    assert first == second
    other_seed = without_timing(list(train(LabConfig(**{**config.as_dict(), "seed": 1}),
                                           load_digits())))
    assert other_seed[1]["train_loss"] != first[1]["train_loss"]


def test_the_fixed_pointwise_layer_keeps_every_output_filter_the_same_shape() -> None:
    """Pointwise at ones and M = 1: all output filters equal the one depthwise filter."""
    config = LabConfig(first_layer="separable_fixed_pointwise", epochs=1, train_size=200)
    epoch = [event for event in train(config, load_digits()) if event["event"] == "epoch"][0]
    filters = epoch["filters"]
    assert all(kernel == filters[0] for kernel in filters)


def test_a_stop_request_ends_the_run_with_an_error_event() -> None:
    calls = itertools.count()
    events = list(train(LabConfig(epochs=3), load_digits(), should_stop=lambda: next(calls) > 50))
    assert [event["event"] for event in events] == ["header", "epoch", "error"]
    assert events[-1]["code"] == "cancelled"


def test_the_time_limit_ends_the_run() -> None:
    ticks = itertools.count()
    events = list(train(
        LabConfig(epochs=3), load_digits(), LabLimits(max_seconds=100.0),
        clock=lambda: float(next(ticks)),
    ))
    assert events[-1]["event"] == "error" and events[-1]["code"] == "time_limit"
    assert "lab_max_seconds=100" in events[-1]["message"]


def test_a_diverging_run_says_so_instead_of_sending_nan(monkeypatch) -> None:
    """Softmax and the clipped log keep a too-large step finite (the net dies at ~10 %
    instead), so the overflow is forced: the run must end with an error, never a NaN."""
    def overflowing_step(self, params, grads) -> None:
        params["dense_kernel"][:] = np.float32(3e38)

    monkeypatch.setattr(training.Optimizer, "step", overflowing_step)
    events = list(train(LabConfig(epochs=3), load_digits()))
    assert events[-1]["event"] == "error" and events[-1]["code"] == "diverged"
    assert "lower the learning_rate" in events[-1]["message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"first_layer": "dense"}, "first_layer must be one of 'standard', 'separable'"),
        ({"epochs": 31}, "epochs must be between 1 and 30 (lab_max_epochs), got 31"),
        ({"channel_multiplier": 0}, "channel_multiplier must be between 1 and 8"),
        ({"learning_rate": 0.0}, "learning_rate must be in (0.0, 10.0], got 0.0"),
        ({"batch_size": 2.5}, "batch_size must be an integer"),
        ({"train_size": 5}, "train_size must be between 10 and 70000"),
    ],
)
def test_bad_settings_name_the_field(changes: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        next(train(LabConfig(**changes), load_digits()))
    assert message in str(error.value)


def test_the_run_cache_is_bounded_by_runs_and_bytes() -> None:
    from app.lab.runs import MemoryRunCache
    from tests.faults.server import run_async  # the e2e tests leave a loop in this thread

    async def scenario() -> None:
        cache = MemoryRunCache(capacity=2, capacity_bytes=200)
        small = [{"event": "end", "numbers": [1.0] * 5}]
        for key in "abc":
            await cache.put(key, small)
        assert len(cache) == 2 and await cache.get("a") is None
        assert await cache.get("c") == small
        await cache.put("big", [{"event": "end", "numbers": [1.0] * 100}])  # too big: dropped
        assert await cache.get("big") is None
        await cache.put("d", [{"event": "end", "numbers": [1.0] * 30}])  # evicts to fit
        assert await cache.get("d") is not None and len(cache) <= 2

    run_async(scenario())


def test_the_wrong_depthwise_fan_in_changes_the_training_curve() -> None:
    """The same seed and a second separable layer (C2 = 8): only the depthwise fan-in
    differs, and the curve differs from the first epoch (the default network has no second
    layer, so its numbers are those of the run without this field)."""
    right = LabConfig(second_layer="separable", epochs=2, train_size=300)
    wrong = LabConfig(**{**right.as_dict(), "depthwise_fan_in": "kh_kw_c"})
    curves = [
        [event for event in train(config, load_digits()) if event["event"] == "epoch"]
        for config in (right, wrong)
    ]
    assert curves[0][0]["train_loss"] != curves[1][0]["train_loss"]
    assert [e["test_accuracy"] for e in curves[0]] != [e["test_accuracy"] for e in curves[1]]
    header = next(train(wrong, load_digits()))
    assert any("k*k*C (the classic bug) = 72" in note for note in header["init"])
    assert header["network"][2] == "ReLU"
