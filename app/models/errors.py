"""What can be wrong with an uploaded model, said so that a student can act on it."""

from __future__ import annotations


class ModelError(ValueError):
    """A model (or a request about one) that ConvLens refuses, with its HTTP meaning.

    status : 413 for a limit, 422 for a model or argument that does not fit, 503 when the
    optional ``models`` extra (onnx, onnxruntime) is not installed.
    code : the API error code; field : the request field to fix.
    """

    def __init__(self, message: str, *, status: int = 422, code: str = "invalid_model",
                 field: str | None = "model") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


def missing_extra(package: str) -> ModelError:
    return ModelError(
        f"{package} is not installed on this server, so ONNX models cannot be opened; "
        "install the models extra: pip install 'convlens[models]'",
        status=503, code="models_unavailable", field=None,
    )
