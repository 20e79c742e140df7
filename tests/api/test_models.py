"""``/api/v1/models/inspect`` and ``/models/run`` through real HTTP (TestClient), on ONNX models
built with ``onnx.helper``: classification, weights round trip, engine == onnxruntime, and
every bad-model case with its message."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx (the models extra) is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime (the models extra) is not installed")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from app.models import clear_caches  # noqa: E402
from tests.api.helpers import assert_error, decoded, encoded  # noqa: E402
from tests.models import onnx_builders as build  # noqa: E402

INSPECT = "/api/v1/models/inspect"
RUN = "/api/v1/models/run"


def _bytes(model) -> bytes:
    return model.SerializeToString()


def inspect(client, data: bytes, **fields: str):
    return client.post(INSPECT, files={"model": ("net.onnx", data, "application/octet-stream")},
                       data=fields)


def run(client, data: bytes, layer: str, x, **fields: str):
    value = json.dumps(encoded(x, "float32") if isinstance(x, np.ndarray) else x)
    return client.post(RUN, files={"model": ("net.onnx", data, "application/octet-stream")},
                       data={"layer": layer, "input": value, **fields})


def _image(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _initializers(model) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def test_layers_are_listed_in_graph_order_and_classified(client) -> None:
    model = build.mobilenet_v2_blocks()
    response = inspect(client, _bytes(model), output_encoding="base64")
    assert response.status_code == 200, response.text
    body = response.json()
    layers = body["layers"]
    assert [(layer["name"], layer["kind"], layer["groups"]) for layer in layers] == [
        ("stem", "standard", 1),
        ("block1.expand", "pointwise", 1), ("block1.depthwise", "depthwise", 32),
        ("block1.project", "pointwise", 1),
        ("block2.expand", "pointwise", 1), ("block2.depthwise", "depthwise", 48),
        ("block2.project", "pointwise", 1),
    ]
    depthwise = layers[2]
    assert depthwise["in_channels"] == 32 and depthwise["out_channels"] == 32
    assert depthwise["kernel_hw"] == [3, 3] and depthwise["strides"] == [2, 2]
    assert depthwise["pads"] == [1, 1, 1, 1] and depthwise["dilations"] == [1, 1]
    assert depthwise["weight_shape"] == [32, 1, 3, 3]
    assert depthwise["input_shape"] == ["N", 32, 8, 8]
    assert depthwise["output_shape"] == ["N", 32, 4, 4]
    assert body["model"]["conv_layers"] == 7 and body["model"]["opset"] == 17
    assert body["model"]["inputs"] == [{"name": "image", "shape": ["N", 3, 16, 16],
                                        "dtype": "float32"}]
    # Weights round trip, exactly (float32 base64), with per-channel statistics.
    weights = _initializers(model)
    for layer in layers:
        np.testing.assert_array_equal(decoded(layer["weight"]), weights[layer["name"] + ".weight"])
    gold = weights["block1.depthwise.weight"].reshape(32, -1).astype(np.float64)
    stats = depthwise["weight_stats"]["per_output_channel"]
    np.testing.assert_allclose(stats["max"], gold.max(axis=1), rtol=1e-7)
    np.testing.assert_allclose(stats["std"], gold.std(axis=1), rtol=1e-6)
    np.testing.assert_allclose(stats["l2"], np.sqrt((gold ** 2).sum(axis=1)), rtol=1e-6)


def test_grouped_and_multiplier_depthwise_and_plain_conv_kinds(client) -> None:
    layers = inspect(client, _bytes(build.grouped_conv())).json()["layers"]
    grouped, depthwise = layers
    assert (grouped["kind"], grouped["groups"], grouped["in_channels"]) == ("grouped", 2, 6)
    assert grouped["pads"] == [1, 0, 0, 1] and grouped["has_bias"]
    assert (depthwise["kind"], depthwise["channel_multiplier"]) == ("depthwise", 2)
    assert depthwise["auto_pad"] == "SAME_UPPER"
    weight = np.array(grouped["weight"], dtype=np.float32)  # nested lists by default
    np.testing.assert_array_equal(weight, _initializers(build.grouped_conv())["grouped.weight"])
    (plain,) = inspect(client, _bytes(build.plain_conv())).json()["layers"]
    assert (plain["kind"], plain["dilations"]) == ("standard", [2, 2])
    (first, second) = inspect(client, _bytes(build.mobilenet_v1_block())).json()["layers"]
    assert (first["kind"], second["kind"]) == ("depthwise", "pointwise")
    without = inspect(client, _bytes(build.plain_conv()), include_weights="false").json()
    assert without["layers"][0]["weight"] is None


@pytest.mark.parametrize("make,shape", [
    (build.mobilenet_v1_block, (1, 4, 8, 8)),
    (build.mobilenet_v2_blocks, (2, 3, 16, 16)),
    (build.grouped_conv, (1, 6, 7, 7)),
    (build.plain_conv, (1, 3, 9, 9)),
])
def test_the_engine_equals_onnxruntime_for_every_layer(client, make, shape) -> None:
    data = _bytes(make())
    names = [layer["name"] for layer in inspect(client, data, include_weights="false")
             .json()["layers"]]
    x = _image(shape)
    for name in names:
        response = run(client, data, name, x, output_encoding="base64")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["matches"] is True, name
        gold, mine = decoded(body["layer_output"]), decoded(body["engine_output"])
        assert mine.shape == gold.shape == tuple(body["layer_output_shape"])
        np.testing.assert_allclose(mine, gold, rtol=1e-5, atol=1e-5, err_msg=name)
        assert body["max_abs_difference"] == pytest.approx(float(np.abs(mine - gold).max()))


def test_onnxruntime_activations_are_the_real_ones(client) -> None:
    """The plain model's only layer is its output: the API's layer_output is what
    onnxruntime gives for the whole model, and layer_input is the image itself."""
    model = build.plain_conv()
    x = _image((1, 3, 9, 9), 1)
    body = run(client, _bytes(model), "plain", x, output_encoding="base64").json()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(_bytes(model), options, providers=["CPUExecutionProvider"])
    (gold,) = session.run(None, {"image": x})  # the whole model, as written
    np.testing.assert_array_equal(decoded(body["layer_output"]), gold)
    np.testing.assert_array_equal(decoded(body["layer_input"]), x)
    assert body["engine"]["op"] == "conv2d"
    assert body["engine"]["arguments"]["padding"] == [[0, 0], [0, 0], [2, 2], [2, 2]]
    assert body["engine"]["filter_shape"] == [3, 3, 3, 5]


def test_depthwise_layers_are_stepped_with_depthwise_conv2d_and_tf_filter_layout(client) -> None:
    data = _bytes(build.grouped_conv())
    body = run(client, data, "depthwise_m2", _image((1, 6, 7, 7)), output_encoding="base64").json()
    assert body["engine"]["op"] == "depthwise_conv2d"
    assert body["engine"]["filter_shape"] == [3, 3, 4, 2]  # (kh, kw, C, M)
    assert body["padding"]["output_height"] == 3 and body["padding"]["pad_bottom"] == 1
    weight = _initializers(build.grouped_conv())["depthwise_m2.weight"]  # (8, 1, 3, 3)
    tf_filter = decoded(body["engine"]["filter"])
    np.testing.assert_array_equal(tf_filter[:, :, 1, 0], weight[2, 0])  # channel q*M + r = 2


def test_a_model_exported_from_pytorch(client) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not importable")
    import io
    import warnings

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(6, 12, 3, stride=2, padding=1, groups=6), torch.nn.BatchNorm2d(12),
        torch.nn.ReLU6(), torch.nn.Conv2d(12, 8, 1),
    ).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (torch.zeros(1, 3, 10, 10),), buffer, dynamo=False,
                              input_names=["image"], opset_version=17,
                              do_constant_folding=False)
        except Exception as error:  # noqa: BLE001 - an exporter this torch build lacks
            pytest.skip(f"torch.onnx.export does not work here: {error}")
    data = buffer.getvalue()
    layers = inspect(client, data, output_encoding="base64").json()["layers"]
    assert [layer["kind"] for layer in layers] == ["standard", "depthwise", "pointwise"]
    assert layers[1]["channel_multiplier"] == 2
    np.testing.assert_array_equal(decoded(layers[1]["weight"]),
                                  module[2].weight.detach().numpy())
    x = _image((1, 3, 10, 10), 2)
    for layer in layers:
        body = run(client, data, layer["name"], x, output_encoding="base64").json()
        assert body["matches"] is True, body
    with torch.no_grad():
        gold = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(decoded(body["layer_output"]), gold, rtol=1e-5, atol=1e-5)


def test_any_worker_answers_because_the_file_travels_with_every_request(client_with) -> None:
    data = _bytes(build.mobilenet_v1_block())
    x = _image((1, 4, 8, 8))
    first = run(client_with(), data, "pw", x, output_encoding="base64").content
    clear_caches()  # a fresh process: nothing remembered
    assert run(client_with(), data, "pw", x, output_encoding="base64").content == first


# ---------------------------------------------------------------- bad models


def test_not_onnx(client) -> None:
    error = assert_error(inspect(client, b"\x89PNG\r\n\x1a\n" + bytes(200)), 422,
                         "invalid_model", "model")
    assert "not an ONNX model, or it is truncated" in error["message"]


def test_truncated(client) -> None:
    data = _bytes(build.mobilenet_v1_block())
    error = assert_error(inspect(client, data[: len(data) // 2]), 422, "invalid_model", "model")
    assert "truncated" in error["message"]


def test_too_large(client_with) -> None:
    data = _bytes(build.mobilenet_v1_block())
    error = assert_error(inspect(client_with(max_model_bytes=1000), data), 413,
                         "model_too_large", "model")
    assert f"{len(data):,} bytes; the limit is 1,000 (max_model_bytes)" in error["message"]
    error = assert_error(inspect(client_with(max_model_weights=100), data), 413,
                         "too_many_weights", "model")
    assert "the limit is 100 (max_model_weights)" in error["message"]


def test_an_op_onnxruntime_refuses(client) -> None:
    net = build.Net([1, 2, 5, 5])
    mystery = "mystery.out"
    net.nodes.append(helper.make_node("Mystery", ["image"], [mystery], domain="com.example"))
    net.channels[mystery] = 2
    net.conv(mystery, 2, 3, name="after")
    data = _bytes(net.model("after.out", extra_opsets=[helper.make_opsetid("com.example", 1)]))
    assert inspect(client, data).status_code == 200  # the file itself is fine
    error = assert_error(run(client, data, "after", _image((1, 2, 5, 5))), 422,
                         "unsupported_model", "model")
    assert "onnxruntime cannot run the graph up to layer after" in error["message"]
    assert "Mystery" in error["message"]


def test_an_input_shape_that_does_not_fit(client) -> None:
    data = _bytes(build.mobilenet_v1_block())
    error = assert_error(run(client, data, "dw", _image((1, 3, 8, 8))), 422,
                         "invalid_configuration", "input")
    assert error["message"] == ("input has shape [1, 3, 8, 8] but the model's input 'image' "
                                "expects [1, 4, 8, 8] (NCHW; names are free sizes)")
    # A free size, but a graph that cannot take it: the head's Gemm wants 12 features.
    net = build.Net(["N", 3, "H", "W"])
    y = net.conv(net.input_name, 4, 3, name="first")
    flat = "flat"
    net.nodes.append(helper.make_node("Flatten", [y], [flat]))
    net.constant("fc.w", np.ones((4 * 2 * 2, 3)))
    net.nodes.append(helper.make_node("Gemm", [flat, "fc.w"], ["logits"]))
    net.channels["logits"] = 3
    data = _bytes(net.model("logits", rank=2))
    assert run(client, data, "first", _image((1, 3, 2, 2))).status_code == 200
    error = assert_error(run(client, data, "first", _image((1, 3, 5, 5))), 422,
                         "invalid_configuration", "input")
    assert error["message"].startswith("input of shape [1, 3, 5, 5] does not fit the model:")


def test_external_data(client) -> None:
    model = build.plain_conv()
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    error = assert_error(inspect(client, _bytes(model)), 422, "external_data", "model")
    assert "'plain.weight' is stored in an external data file" in error["message"]
    assert "save_as_external_data=False" in error["message"]


def test_an_unknown_layer_name(client) -> None:
    data = _bytes(build.mobilenet_v1_block())
    error = assert_error(run(client, data, "pw2", _image((1, 4, 8, 8))), 422, "unknown_layer",
                         "layer")
    assert error["message"] == ("layer 'pw2' is not a Conv layer of this model. Did you mean "
                                "'pw'? Its Conv layers are: dw, pw")


def test_the_input_is_bounded_before_it_is_parsed(client_with) -> None:
    data = _bytes(build.mobilenet_v1_block())
    small = client_with(max_body_bytes=2000)
    error = assert_error(run(small, data, "dw", _image((1, 4, 8, 8)).tolist()), 413,
                         "body_too_large", "input")
    assert "the limit is 2,000 (max_body_bytes)" in error["message"]
    error = assert_error(run(client_with(max_elements=100), data, "dw", _image((1, 4, 8, 8))),
                         413, "too_many_elements", "input")
    assert "input has 256 elements; the limit is 100 (max_elements)" in error["message"]


def test_activations_are_bounded_before_the_run(client_with) -> None:
    data = _bytes(build.mobilenet_v2_blocks())
    error = assert_error(run(client_with(max_model_activations=5000), data, "block2.project",
                             _image((2, 3, 16, 16))), 413, "too_many_activations", "input")
    assert "the limit is 5,000 (max_model_activations)" in error["message"]


def test_the_form_itself(client) -> None:
    data = _bytes(build.mobilenet_v1_block())
    response = client.post(INSPECT, content=data,
                           headers={"content-type": "application/octet-stream"})
    error = assert_error(response, 415, "unsupported_media_type")
    assert "takes multipart/form-data" in error["message"]
    assert_error(client.post(INSPECT, data={"include_weights": "true"},
                             files={"other": ("x", b"1")}), 422, "unknown_field", "other")
    assert_error(client.post(RUN, files={"model": ("m.onnx", data)}, data={"layer": "dw"}), 422,
                 "missing_field", "input")
    assert_error(run(client, data, "dw", "not json"), 422, "invalid_array", "input")
    error = assert_error(run(client, data, "dw", [[1, 2], [3]]), 422, "invalid_array", "input")
    assert_error(inspect(client, data, output_encoding="hex"), 422, "invalid_value",
                 "output_encoding")
    # A part named "" is a field this endpoint does not take, as the schema says
    # (additionalProperties: false), not a malformed form.
    assert_error(client.post(INSPECT, files={"model": ("m.onnx", data), "": ("x", b"1")}), 422,
                 "unknown_field", "")
    form = client.get("/openapi.json").json()["paths"][INSPECT]["post"]["requestBody"]
    assert form["content"]["multipart/form-data"]["schema"]["additionalProperties"] is False
    # Text fields exactly as the schema's enum and pattern: no other case, sign or digit.
    assert_error(inspect(client, data, include_weights="TRUE"), 422, "invalid_value",
                 "include_weights")
    for channel in (" 1", "\u00b2", "1" * 10):
        assert_error(run(client, data, "dw", _image((1, 4, 8, 8)), channel=channel), 422,
                     "invalid_value", "channel")
    cut = client.post(INSPECT, content=b"--b\r\nContent-Disposition: form-data; name=model\r\n\r\n"
                      b"abc", headers={"content-type": "multipart/form-data; boundary=b"})
    assert "truncated" in assert_error(cut, 400, "malformed_form")["message"]


def test_the_steps_of_one_output_channel_explain_its_values(client) -> None:
    data = _bytes(build.grouped_conv())
    x = _image((1, 6, 7, 7), 3)
    body = run(client, data, "grouped", x, channel="3", output_encoding="base64").json()
    steps = body["steps"]
    assert steps["channel"] == 3 and steps["input_channels"] == [3, 4, 5]  # group 1 of 2
    assert steps["steps"] == 36 and steps["output_hw"] == [6, 6]
    window, products = decoded(steps["window"]), decoded(steps["products"])
    assert window.shape == products.shape == (36, 3, 3, 3)
    weight = _initializers(build.grouped_conv())["grouped.weight"][3]  # (3, 3, 3)
    np.testing.assert_array_equal(decoded(steps["weights"]), weight)
    # Step (i=0, j=0): pads top 1 and left 0, so the window's first row is padding.
    assert np.array(steps["padding_mask"])[0, 0].all()
    np.testing.assert_array_equal(window[0, :, 1:, :], x[0, 3:6, 0:2, 0:3])
    np.testing.assert_allclose(products, window * weight, rtol=1e-6)
    outputs = decoded(steps["sum"]) + steps["bias"]
    np.testing.assert_allclose(outputs, decoded(steps["reference"]), rtol=1e-5, atol=1e-5)
    assert_error(run(client, data, "grouped", x, channel="4"), 422, "invalid_value", "channel")
