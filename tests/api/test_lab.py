"""``POST /api/v1/lab/train`` through a real uvicorn: the stream, sharing, queueing, leaving.

Queueing and cancellation are proved with a gate, never the clock: the lab's ``train`` is
wrapped so a run blocks after its header until the test opens the gate, and records whether
it was asked to stop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from app.api import lab as lab_api
from app.lab import LabConfig
from app.main import create_app
from app.settings import Settings
from tests.api.helpers import assert_error, events

pytest.importorskip("sklearn", reason="the digits dataset needs scikit-learn (the lab extra)")

PATH = "/api/v1/lab/train"
SMALL = {"epochs": 2, "train_size": 200}
TIMING = {"seconds", "forward_seconds", "backward_seconds"}
WAIT_SECONDS = 30.0


def numbers(lines: list[dict]) -> list[dict]:
    return [{k: v for k, v in event.items() if k not in TIMING | {"cached"}} for event in lines]


def post(url: str, body: dict) -> httpx.Response:
    return httpx.post(url + PATH, json=body, timeout=WAIT_SECONDS)


def test_a_run_streams_header_epochs_and_end_with_every_default_stated(serve) -> None:
    server = serve(create_app(Settings()))
    response = post(server.url, SMALL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = events(response.text)
    assert [line["event"] for line in lines] == ["header", "epoch", "epoch", "end"]
    header = lines[0]
    assert header["config"] == {**LabConfig().as_dict(), **SMALL}
    assert header["cached"] is False and len(header["run"]) == 16
    assert header["dataset"]["train_examples"] == 200
    for epoch, line in enumerate(lines[1:3], start=1):
        assert line["epoch"] == epoch
        assert 0 <= line["train_accuracy"] <= 1 and 0 <= line["test_accuracy"] <= 1
        assert line["train_loss"] > 0 and line["seconds"] > 0
    assert lines[-1]["test_accuracy"] == lines[2]["test_accuracy"]


def test_the_wrong_depthwise_fan_in_is_a_field_of_the_run(serve) -> None:
    """second_layer 'separable' gives the depthwise fan-in a C > 1 (the first layer's 8
    outputs): k*k*C changes the stated init and the numbers; the default has no layer 2."""
    server = serve(create_app(Settings()))
    body = {**SMALL, "epochs": 1, "second_layer": "separable"}
    right = events(post(server.url, body).text)
    wrong = events(post(server.url, {**body, "depthwise_fan_in": "kh_kw_c"}).text)
    assert "depthwise_kernel_2 [3, 3, 8, 1]: LeCun normal, fan_in = k*k = 9" in right[0]["init"]
    assert ("depthwise_kernel_2 [3, 3, 8, 1]: LeCun normal, fan_in = k*k*C (the classic bug) "
            "= 72") in wrong[0]["init"]
    assert right[1]["train_loss"] != wrong[1]["train_loss"]
    assert LabConfig().second_layer == "none"


def test_sixty_identical_requests_train_once_and_get_the_same_numbers(serve) -> None:
    application = create_app(Settings())
    server = serve(application)
    body = {**SMALL, "first_layer": "separable", "seed": 3}
    with ThreadPoolExecutor(max_workers=60) as pool:
        answers = list(pool.map(lambda _: post(server.url, body), range(60)))
    assert {answer.status_code for answer in answers} == {200}
    streams = [numbers(events(answer.text)) for answer in answers]
    assert all(stream == streams[0] for stream in streams)
    assert streams[0][-1]["event"] == "end"
    board = application.state.lab_board
    assert board.trainings == 1
    later = events(post(server.url, body).text)
    assert later[0]["cached"] is True and numbers(later) == streams[0]
    assert board.trainings == 1
    other = events(post(server.url, {**body, "seed": 4}).text)
    assert numbers(other)[1] != streams[0][1] and board.trainings == 2


class Gate:
    """Wraps the lab's ``train``: each run blocks after its header until ``open``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened = threading.Event()
        self.started: list[str] = []
        self.stopped: list[str] = []
        real = lab_api.lab.train

        def gated(config, dataset, limits=None, should_stop=None) -> Iterator[dict]:
            run = real(config, dataset, limits, should_stop)
            yield next(run)
            self.started.append(config.first_layer)
            while not self.opened.wait(0.01):
                if should_stop is not None and should_stop():
                    self.stopped.append(config.first_layer)
                    break
            yield from run

        monkeypatch.setattr(lab_api.lab, "train", gated)

    def wait_until(self, condition, what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.01)


def test_distinct_runs_queue_and_hear_their_position(serve, monkeypatch) -> None:
    gate = Gate(monkeypatch)
    application = create_app(Settings(lab_max_jobs=1))
    server = serve(application)
    bodies = [{**SMALL, "seed": seed} for seed in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        first = pool.submit(post, server.url, bodies[0])
        gate.wait_until(lambda: gate.started, "the first run did not start")
        rest = []
        for waiting, body in enumerate(bodies[1:], start=1):  # in order: places 1, then 2
            rest.append(pool.submit(post, server.url, body))
            gate.wait_until(lambda n=waiting: len(application.state.lab_board.waiting) == n,
                            "no queue")
        gate.opened.set()
        streams = [events(future.result().text) for future in (first, *rest)]
    assert [line["event"] for line in streams[0]].count("queue") == 0
    queued = [[line["position"] for line in stream if line["event"] == "queue"]
              for stream in streams[1:]]
    assert queued[0][0] == 1 and queued[1][:2] == [2, 1]
    assert all(stream[-1]["event"] == "end" for stream in streams)
    assert application.state.lab_board.trainings == 3


def test_a_disconnect_stops_a_run_nobody_else_watches(serve, monkeypatch) -> None:
    gate = Gate(monkeypatch)
    application = create_app(Settings())
    server = serve(application)
    board = application.state  # the board is made on the first request

    def watch_and_leave(body: dict) -> dict:
        with httpx.stream("POST", server.url + PATH, json=body, timeout=WAIT_SECONDS) as stream:
            return json.loads(next(stream.iter_lines()))

    shared = {**SMALL, "first_layer": "depthwise"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        staying = pool.submit(post, server.url, shared)
        gate.wait_until(lambda: gate.started, "the shared run did not start")
        assert watch_and_leave(shared)["event"] == "header"  # a second watcher leaves
        time.sleep(0.2)
        assert gate.stopped == []  # the first watcher still watches
        gate.opened.set()
        assert events(staying.result().text)[-1]["event"] == "end"
    gate.opened.clear()
    alone = {**SMALL, "first_layer": "standard", "seed": 9}
    assert watch_and_leave(alone)["event"] == "header"
    gate.wait_until(lambda: gate.stopped == ["standard"], "the abandoned run went on")
    gate.wait_until(lambda: not board.lab_board.running, "the abandoned run is still running")
    gate.opened.set()
    # Not cached: a new request trains again, to the end.
    assert events(post(server.url, alone).text)[-1]["event"] == "end"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"epochs": 31}, 413, "lab_limit", "epochs"),
        ({"first_layer": "dense"}, 422, "invalid_value", "first_layer"),
        ({"channel_multiplier": 9}, 413, "lab_limit", "channel_multiplier"),
        ({"epochs": 2.5}, 422, "invalid_value", "epochs"),
        ({"filter": 8}, 422, "unknown_field", "filter"),
        ({"train_size": 5000}, 422, "invalid_configuration", "train_size"),
        ({"dataset": "mnist"}, 422, "lab_unavailable", "dataset"),
        ({"batch_size": 1, "epochs": 20}, 413, "lab_limit", "epochs"),
        ({"second_layer": "conv2d"}, 422, "invalid_value", "second_layer"),
        # A number as the schema has it: never a boolean or a string (schema = server).
        ({"optimizer": "sgd", "momentum": False}, 422, "invalid_value", "momentum"),
        ({"optimizer": "sgd", "momentum": "0.5"}, 422, "invalid_value", "momentum"),
        ({"learning_rate": True}, 422, "invalid_value", "learning_rate"),
    ],
)
def test_bad_requests_are_refused_in_the_envelope(serve, body, status, code, field) -> None:
    server = serve(create_app(Settings(lab_max_epochs=30)))
    assert_error(post(server.url, body), status, code, field)


def test_a_full_queue_is_a_503(serve, monkeypatch) -> None:
    gate = Gate(monkeypatch)
    application = create_app(Settings(lab_max_jobs=1, lab_max_queue=1))
    server = serve(application)
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(post, server.url, {**SMALL, "seed": 1})
        gate.wait_until(lambda: gate.started, "no run")
        waiting = pool.submit(post, server.url, {**SMALL, "seed": 2})
        gate.wait_until(lambda: len(application.state.lab_board.waiting) == 1, "no queue")
        assert_error(post(server.url, {**SMALL, "seed": 3}), 503, "lab_busy")
        gate.opened.set()
        assert running.result().status_code == waiting.result().status_code == 200


def small_npz(rng, train: int = 40, test: int = 12) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, x_train=rng.integers(0, 256, (train, 28, 28)).astype(np.uint8),
             y_train=rng.integers(0, 10, train), x_test=rng.integers(0, 256, (test, 28, 28))
             .astype(np.uint8), y_test=rng.integers(0, 10, test))
    return buffer.getvalue()


def test_an_uploaded_mnist_trains_and_an_unknown_upload_is_named(serve) -> None:
    import numpy as np

    server = serve(create_app(Settings()))
    url = server.url + "/api/v1/lab/datasets"
    answer = httpx.post(url, files={"npz": ("mnist.npz", small_npz(np.random.default_rng(1)))},
                        timeout=WAIT_SECONDS)
    assert answer.status_code == 200, answer.text
    upload = answer.json()
    assert upload["train_examples"] == 40 and upload["image_shape"] == [28, 28, 1]
    again = httpx.post(url, files={"npz": ("m.npz", small_npz(np.random.default_rng(1)))},
                       timeout=WAIT_SECONDS).json()
    assert again["upload"] == upload["upload"]  # the same bytes, the same id
    body = {"dataset": "mnist", "upload": upload["upload"], "epochs": 1, "batch_size": 8}
    lines = events(post(server.url, body).text)
    assert lines[0]["dataset"]["train_examples"] == 40 and lines[-1]["event"] == "end"
    assert len(lines[1]["filters"]) == 8
    assert_error(post(server.url, {**body, "upload": "0" * 32}), 422, "lab_unavailable",
                 "upload")
    assert_error(post(server.url, {**body, "dataset": "digits"}), 422, "invalid_configuration",
                 "upload")
    broken = httpx.post(url, files={"npz": ("mnist.npz", b"not a zip")}, timeout=WAIT_SECONDS)
    # Not an npz: the file's own code (invalid_value is for what the schema states).
    assert "not a .npz" in assert_error(broken, 422, "invalid_dataset", "npz")["message"]
    form = httpx.get(server.url + "/openapi.json", timeout=WAIT_SECONDS).json()["paths"][
        "/api/v1/lab/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert form["schema"]["anyOf"][0] == {"required": ["npz"]}  # an empty form is not valid
    assert form["schema"]["additionalProperties"] is False
    assert_error(httpx.post(url, json={"npz": 1}, timeout=WAIT_SECONDS), 415,
                 "unsupported_media_type")


def test_a_run_trained_by_one_replica_is_replayed_by_another_through_the_shared_store(
    serve,
) -> None:
    """Two apps (two replicas) over one byte store, as Redis would be: the second trains
    nothing. (The store here is app.answers' MemoryStore shared by both.)"""
    from app.answers import MemoryStore
    from app.lab.runs import RunBoard, StoreRunCache

    shared = MemoryStore(8 * 1024 * 1024, 4 * 1024 * 1024)
    replicas = []
    for _ in range(2):
        application = create_app(Settings())
        application.state.lab_board = RunBoard(cache=StoreRunCache(shared))
        replicas.append((application, serve(application)))
    body = {**SMALL, "seed": 42}
    first = events(post(replicas[0][1].url, body).text)
    second = events(post(replicas[1][1].url, body).text)
    assert first[0]["cached"] is False and second[0]["cached"] is True
    assert numbers(second) == numbers(first)
    assert replicas[0][0].state.lab_board.trainings == 1
    assert replicas[1][0].state.lab_board.trainings == 0
