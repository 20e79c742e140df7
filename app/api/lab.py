"""``POST /api/v1/lab/train``: a training run of the lab, streamed as NDJSON.

The body is checked whole before the first byte (every field has a stated default; the
``lab_*`` settings bound epochs, training images and seconds). Then the run's events go
out one line each: ``header``, ``queue`` (while waiting for a free job), one ``epoch`` per
epoch, then ``end`` or ``error``. Identical bodies share one training (``app.lab.runs``):
sixty students pressing *Train* on a preset start one run, and later ones get the cached
numbers at once. A client that leaves stops the run unless someone else watches it.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoint's annotations.
import functools
import hashlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, Strict
from starlette.concurrency import run_in_threadpool

from app import __version__, lab
from app.answers.lru import LruCache
from app.api.body import JsonBody, body_docs, get_settings, json_body, register_component
from app.api.errors import ERROR_RESPONSES, ApiError, ErrorEnvelope, field_from_message
from app.api.multipart import FORM_OVERHEAD_BYTES, RawForm, read_form
from app.api.responses import dumps, json_response
from app.api.schemas import integer
from app.lab import datasets as lab_datasets
from app.lab.backward import first_step
from app.lab.runs import BoardFull, MemoryRunCache, RunBoard, RunCache, StoreRunCache
from app.settings import Settings

router = APIRouter(prefix="/lab", tags=["lab"])
MEDIA_TYPE = "application/x-ndjson"

# A JSON number (3 or 0.5), never "0.5" or true: the schema's "number". Integer fields use
# app.api.schemas.integer (8 or 8.0, never true or "8"), as JSON Schema has them.
StrictFloat = Annotated[float, Strict()]


class LabTrainRequest(BaseModel):
    """One training run. Every field but ``first_layer`` may be left out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"first_layer": "separable", "channel_multiplier": 2,
                                         "epochs": 8, "seed": 0}]},
    )
    dataset: Literal["digits", "mnist"] = Field(
        "digits", description="'digits': scikit-learn's 1797 8x8 images (offline); 'mnist': "
        "the files at the lab_mnist_path setting.")
    first_layer: Literal[
        "standard", "separable", "depthwise", "separable_fixed_pointwise"
    ] = Field("standard", description="The first layer; the rest is ReLU -> 2x2 max-pool -> "
              "dense -> softmax.")
    channel_multiplier: integer(ge=1, le=64) = Field(
        1, description="M of the depthwise step (separable, depthwise).")
    filters: integer(ge=1, le=1024) = Field(
        8, description="Output channels F of standard and separable (depthwise gives C*M).")
    kernel_size: integer(ge=1, le=15) = Field(3, description="k of k x k.")
    optimizer: Literal["adam", "sgd"] = Field("adam", description="Adam or SGD with momentum.")
    learning_rate: Annotated[StrictFloat, Field(gt=0, le=10)] = 0.01
    momentum: Annotated[StrictFloat, Field(ge=0, le=0.999)] = Field(0.9, description="SGD only.")
    batch_size: integer(ge=1, le=4096) = 32
    epochs: integer(ge=1, le=1000) = Field(
        8, description="At most lab_max_epochs.")
    seed: integer(ge=0, le=2**32 - 1) = Field(
        0, description="Initialisation and batch order; the same seed gives the same numbers.")
    depthwise_fan_in: Literal["kh_kw", "kh_kw_c"] = Field(
        "kh_kw", description="Fan-in of the depthwise initialisation: k*k (right) or k*k*C "
        "(the classic bug; with second_layer 'separable' its C is the first layer's outputs).")
    second_layer: Literal["none", "separable"] = Field(
        "none", description="'separable': a depthwise-separable layer (depthwise 3x3 x1, "
        "pointwise, + bias, ReLU) over the first layer's outputs before the pool, where the "
        "depthwise fan-in k*k*C differs from k*k.")
    train_size: integer(ge=10, le=10_000_000) | None = Field(
        None, description="Train on the first n training images (null: all of them).")
    upload: Annotated[str, Field(pattern="^[0-9a-f]{32}$")] | None = Field(
        None, description="With dataset 'mnist': the id POST /api/v1/lab/datasets gave an "
        "uploaded MNIST (null: the server's lab_mnist_path files).")


class LabEvent(BaseModel):
    """One NDJSON line: ``event`` is header, queue, epoch, end or error."""

    event: Literal["header", "queue", "epoch", "end", "error"]
    model_config = ConfigDict(extra="allow")


_BODY = json_body("LabTrainRequest", LabTrainRequest)
register_component("LabEvent", LabEvent)
FIELDS = tuple(LabTrainRequest.model_fields)


def limits_of(settings: Settings) -> lab.LabLimits:
    return lab.LabLimits.from_settings(settings)


@functools.lru_cache(maxsize=4)
def _mnist(path: str, max_examples: int) -> lab.Dataset:
    return lab.load_mnist(path, max_examples)


class UploadStore(LruCache[str, lab.Dataset]):
    """Uploaded datasets of this process by id (a hash of the bytes), least recent out."""

    def __init__(self, capacity: int) -> None:
        super().__init__(max_entries=capacity)


def uploads_of(state: Any, settings: Settings) -> UploadStore:
    store: UploadStore | None = getattr(state, "lab_uploads", None)
    if store is None:
        store = state.lab_uploads = UploadStore(settings.lab_max_uploads)
    return store


def dataset_for(name: str, settings: Settings, upload: str | None = None,
                uploads: UploadStore | None = None) -> lab.Dataset:
    """The dataset, or the error saying what the server lacks."""
    if upload is not None:
        dataset = uploads.get(upload) if uploads is not None else None
        if dataset is None:
            raise ApiError(
                422, "lab_unavailable",
                f"upload {upload} is not on this server (uploads are kept in memory, at most "
                f"lab_max_uploads={settings.lab_max_uploads}); upload the files again", "upload",
            )
        return dataset
    try:
        if name == "digits":
            return lab.load_digits()
        if not settings.lab_mnist_path:
            raise ApiError(
                422, "lab_unavailable",
                "dataset 'mnist' needs the MNIST files on the server: set CONVLENS_LAB_MNIST_PATH "
                "to a directory of the four *-ubyte.gz files or to a Keras mnist.npz",
                "dataset",
            )
        return _mnist(settings.lab_mnist_path, settings.lab_max_examples)
    except lab.DatasetError as error:
        raise ApiError(503, "lab_unavailable", str(error), "dataset") from None


def checked_config(fields: dict[str, Any], settings: Settings) -> lab.LabConfig:
    """A run's fields as a ``LabConfig`` within the server's ``lab_*`` limits, or the error."""
    config = lab.LabConfig(**fields)
    try:
        lab.check(config, limits_of(settings))
    except ValueError as error:
        message = str(error)
        # The schema has checked types and ranges: what is left are fields that do not fit
        # together (an upload with dataset 'digits'), or a lab_* limit.
        status, code = ((413, "lab_limit") if "(lab_max" in message
                        else (422, "invalid_configuration"))
        raise ApiError(status, code, message, field_from_message(message, FIELDS)) from None
    return config


def prepare(body: JsonBody, settings: Settings, uploads: UploadStore | None = None
            ) -> tuple[lab.LabConfig, lab.Dataset]:
    """The body parsed and checked, the dataset loaded (in a worker thread)."""
    request: LabTrainRequest = body.parse()
    config = checked_config(request.model_dump(), settings)
    dataset = dataset_for(config.dataset, settings, config.upload, uploads)
    if config.train_size is not None and config.train_size > len(dataset.train_labels):
        raise ApiError(
            422, "invalid_configuration",
            f"train_size must be at most {len(dataset.train_labels)}, the training images of "
            f"{config.dataset}, got {config.train_size}", "train_size",
        )
    check_steps(config, dataset, settings)
    return config, dataset


def check_steps(config: lab.LabConfig, dataset: lab.Dataset, settings: Settings) -> None:
    """Optimiser steps of the run (epochs x batches) within ``lab_max_steps``: what bounds
    a run's time before it starts (``lab_max_seconds`` stops it while it runs)."""
    examples = config.train_size or len(dataset.train_labels)
    steps = config.epochs * -(-examples // config.batch_size)
    if steps > settings.lab_max_steps:
        raise ApiError(
            413, "lab_limit",
            f"epochs: {config.epochs} epochs of {examples} images in batches of "
            f"{config.batch_size} are {steps:,} optimiser steps, more than "
            f"lab_max_steps={settings.lab_max_steps:,}; use fewer epochs, a larger batch_size "
            "or a smaller train_size", "epochs",
        )


async def get_board(request: Request) -> RunBoard:
    """The application's run board, made on first use (on the loop, so made once)."""
    state = request.app.state
    board: RunBoard | None = getattr(state, "lab_board", None)
    if board is None:
        settings: Settings = state.settings
        cache: RunCache = MemoryRunCache(settings.lab_cache_runs)
        if settings.redis_url:  # finished runs shared by every replica, in the trace's store
            from app.api.trace import answers

            store, _ = await answers(request)
            cache = StoreRunCache(store, f"lab:{__version__}:")
        board = state.lab_board = RunBoard(settings.lab_max_jobs, settings.lab_max_queue, cache)
    return board


# The status an error event repeats (the stream itself answered 200).
_ERROR_STATUS = {"time_limit": 503, "diverged": 422, "cancelled": 499, "internal_error": 500}


def _line(event: dict[str, Any]) -> bytes:
    if event["event"] == "error":
        status = _ERROR_STATUS.get(event["code"], 500)
        event = {"event": "error", "error": {
            "code": event["code"], "message": event["message"], "field": None,
            "status": status,
        }}
    return dumps(event) + b"\n"


async def lines(events: AsyncIterator[tuple[dict, bool]], key: str) -> AsyncIterator[bytes]:
    try:
        async for event, cached in events:
            if event["event"] == "header":
                event = {**event, "run": key, "cached": cached}
            yield _line(event)
    finally:
        await events.aclose()  # type: ignore[attr-defined]


@router.post(
    "/train",
    summary="Train a small CNN with the chosen first layer, streamed per epoch (NDJSON)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One JSON event per line: header, queue (while waiting), epoch..., "
            "then end or error.",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/LabEvent"}}},
        },
        503: {"description": "The dataset is not available, or too many runs are waiting"},
        **ERROR_RESPONSES,
    },
    openapi_extra=body_docs("LabTrainRequest", {
        "standard": {"first_layer": "standard", "epochs": 8, "seed": 0},
        "separable_m1_pointwise_fixed_at_ones": {
            "first_layer": "separable_fixed_pointwise", "channel_multiplier": 1, "seed": 0,
        },
        "wrong_depthwise_fan_in": {
            "second_layer": "separable", "depthwise_fan_in": "kh_kw_c", "optimizer": "sgd",
            "learning_rate": 0.05, "seed": 0,
        },
    }),
)
async def train(
    request: Request,
    body: Annotated[JsonBody, Depends(_BODY)],
    settings: Annotated[Settings, Depends(get_settings)],
    board: Annotated[RunBoard, Depends(get_board)],
) -> StreamingResponse:
    """``dataset``, ``first_layer``, ``channel_multiplier``, ``filters``, ``kernel_size``,
    ``optimizer``, ``learning_rate``, ``momentum``, ``batch_size``, ``epochs``, ``seed``,
    ``depthwise_fan_in``, ``second_layer``, ``train_size``: see the schema for each
    default."""
    config, dataset = await run_in_threadpool(
        prepare, body, settings, uploads_of(request.app.state, settings)
    )
    limits = limits_of(settings)
    key = config.key()
    try:
        events = await board.watch(
            key, lambda should_stop: lab.train(config, dataset, limits, should_stop)
        )
    except BoardFull as error:
        raise ApiError(503, "lab_busy", str(error)) from None
    run_id = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    return StreamingResponse(
        lines(events, run_id), media_type=MEDIA_TYPE,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class LabBackwardRequest(LabTrainRequest):
    """A run's settings and which training image to take one training step on."""

    example: integer(ge=0, le=10_000_000) = Field(
        0, description="Index of the training image (in the fixed split).")


_BACKWARD_BODY = json_body("LabBackwardRequest", LabBackwardRequest)


def backward_payload(body: JsonBody, settings: Settings, uploads: UploadStore
                     ) -> dict[str, Any]:
    request: LabBackwardRequest = body.parse()
    fields = request.model_dump()
    example = fields.pop("example")
    config = checked_config(fields, settings)
    dataset = dataset_for(config.dataset, settings, config.upload, uploads)
    try:
        step = first_step(config, dataset, example, limits_of(settings))
    except ValueError as error:
        raise ApiError(422, "invalid_configuration", str(error), "example") from None
    arguments = {name: value.tolist() if hasattr(value, "tolist") else value
                 for name, value in step["arguments"].items()}
    return {
        "trace_request": {"op": step["op"], **arguments,
                          "out_backprop": step["out_backprop"].tolist()},
        "label": step["label"],
        "loss": step["loss"],
    }


@router.post(
    "/backward",
    summary="One training step of a lab network: its first layer's backward-trace request",
    responses={**ERROR_RESPONSES},
    openapi_extra=body_docs("LabBackwardRequest", {
        "separable_m1_first_image": {"first_layer": "separable", "example": 0},
    }),
)
async def backward(
    request: Request,
    body: Annotated[JsonBody, Depends(_BACKWARD_BODY)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """The network initialised from ``seed``, training image ``example`` forward, the loss's
    gradient back to the first layer: ``trace_request`` is the body for
    ``POST /api/v1/trace/backward`` (the first layer's op, its filters, that image and
    ``out_backprop`` = dL/d(first layer's output)), with the image's ``label`` and ``loss``."""
    payload = await run_in_threadpool(
        backward_payload, body, settings, uploads_of(request.app.state, settings)
    )
    return json_response(payload)


UPLOAD_FIELDS = ("npz", *lab_datasets.IDX_NAMES)


def upload_dataset(form: RawForm, settings: Settings, uploads: UploadStore) -> dict[str, Any]:
    parts = form.parse(UPLOAD_FIELDS, ())
    if not parts:
        raise ApiError(422, "missing_field", "send npz (a Keras mnist.npz) or the four IDX "
                       "files train_images, train_labels, test_images, test_labels", "npz")
    files = {name: part.data for name, part in parts.items()}
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    key = digest.hexdigest()
    dataset = uploads.get(key)
    if dataset is None:
        try:
            dataset = lab_datasets.mnist_from_upload(files, settings.lab_max_examples)
        except lab.DatasetError as error:
            field = next((name for name in files if name in str(error)), next(iter(files)))
            raise ApiError(422, "invalid_dataset", str(error), field) from None
        uploads.put(key, dataset)
    return {"upload": key, "dataset": "mnist", **dataset.describe()}


def _upload_docs() -> dict[str, Any]:
    file_field = {"type": "string", "format": "binary"}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "additionalProperties": False,
        "properties": {name: {**file_field, "description": description} for name, description in (
            ("npz", "Keras' mnist.npz (x_train, y_train, x_test, y_test)"),
            ("train_images", "train-images-idx3-ubyte(.gz)"),
            ("train_labels", "train-labels-idx1-ubyte(.gz)"),
            ("test_images", "t10k-images-idx3-ubyte(.gz)"),
            ("test_labels", "t10k-labels-idx1-ubyte(.gz)"),
        )},
        # The npz, or the four IDX files (an IDX file that is not one is invalid_dataset).
        "anyOf": [{"required": ["npz"]}, {"required": list(lab_datasets.IDX_NAMES)}],
    }}}}}


@router.post(
    "/datasets",
    summary="Upload MNIST (a Keras mnist.npz or the four IDX files) for this server's lab",
    responses={**ERROR_RESPONSES,
               415: {"model": ErrorEnvelope, "description": "The body is not multipart"}},
    openapi_extra=_upload_docs(),
)
async def datasets(
    request: Request, settings: Annotated[Settings, Depends(get_settings)],
) -> Response:
    """Answers ``upload`` (the id to pass with ``dataset: "mnist"`` to ``/lab/train`` and
    ``/lab/backward``), and the dataset's sizes. Headers are checked against
    ``lab_max_examples`` before any image array is allocated; the upload is kept in memory
    (at most ``lab_max_uploads`` of them, least recently used out)."""
    form = await read_form(request, settings.lab_max_upload_bytes + FORM_OVERHEAD_BYTES,
                           "/api/v1/lab/datasets")
    payload = await run_in_threadpool(
        upload_dataset, form, settings, uploads_of(request.app.state, settings)
    )
    return json_response(payload)
