"""The limits of ``Settings``, checked from shapes before any array is allocated.

Every check raises a 413 ``ApiError`` naming the field to shrink and the setting
that refused it.
"""

from __future__ import annotations

from app.api.arrays import ArraySource
from app.api.errors import ApiError
from app.engine import ConvPlan
from app.settings import Settings


def _at_most(limit: int, value: int, code: str, field: str, message: str) -> None:
    """``value`` within a setting's ``limit``, else 413 ``code`` naming ``field``."""
    if value > limit:
        raise ApiError(413, code, message, field)


def check_elements(name: str, count: int, settings: Settings, what: str | None = None) -> None:
    _at_most(
        settings.max_elements, count, "too_many_elements", name,
        f"{what or name} has {count:,} elements; the limit is {settings.max_elements:,} "
        "(max_elements)",
    )


def check_sources(sources: dict[str, ArraySource], settings: Settings) -> None:
    """Each incoming array within ``max_elements``."""
    for name, array in sources.items():
        check_elements(name, array.size, settings, f"{name} (shape {list(array.shape)})")


def check_kernel(name: str, kernel_hw: tuple[int, int], settings: Settings) -> None:
    _at_most(
        settings.max_kernel_size, max(kernel_hw), "kernel_too_large", name,
        f"{name} has a {kernel_hw[0]}x{kernel_hw[1]} kernel; the largest side allowed is "
        f"{settings.max_kernel_size} (max_kernel_size)",
    )


def check_channels(name: str, what: str, channels: int, settings: Settings) -> None:
    _at_most(
        settings.max_channels, channels, "too_many_channels", name,
        f"{what} is {channels:,}; the limit is {settings.max_channels:,} channels "
        "(max_channels)",
    )


def spatial_macs(plan: ConvPlan) -> int:
    """Multiply-adds of the spatial (grouped or depthwise) stage:
    ``N*Ho*Wo * kh*kw * C/groups * spatial_out``."""
    height, width = plan.output_hw
    return (
        plan.batch * height * width * plan.kernel_hw[0] * plan.kernel_hw[1]
        * plan.group_in_channels * plan.spatial_out_channels
    )


def check_plan(plan: ConvPlan, filter_name: str, settings: Settings) -> None:
    """Batch, channels, kernel, the sizes the engine allocates, and the work."""
    _at_most(
        settings.max_batch, plan.batch, "batch_too_large", "input",
        f"input has a batch of {plan.batch:,}; the limit is {settings.max_batch:,} "
        "(max_batch)",
    )
    check_kernel(filter_name, plan.kernel_hw, settings)
    check_channels("input", "input's channel count", plan.in_channels, settings)
    check_channels(filter_name, f"{filter_name}'s output channel count",
                   plan.spatial_out_channels, settings)
    if plan.op == "separable_conv2d":
        check_channels("pointwise_filter", "pointwise_filter's output channel count",
                       plan.out_channels, settings)
    pads = plan.padding
    padded_hw = (plan.input_hw[0] + pads.pad_top + pads.pad_bottom,
                 plan.input_hw[1] + pads.pad_left + pads.pad_right)
    check_elements("padding", plan.batch * padded_hw[0] * padded_hw[1] * plan.in_channels,
                   settings, f"The padded input ({padded_hw[0]}x{padded_hw[1]})")
    height, width = plan.output_hw
    positions = plan.batch * height * width
    if plan.spatial_out_channels != plan.out_channels:
        check_elements(filter_name, positions * plan.spatial_out_channels, settings,
                       "The depthwise output")
    check_elements("input", positions * plan.out_channels, settings,
                   f"The output ({height}x{width}x{plan.out_channels} per batch element)")
    multiplier = plan.channel_multiplier if plan.is_depthwise else 1
    if multiplier > 1:
        # The depthwise kernel repeats the padded input once per multiplier index.
        check_elements(filter_name, plan.batch * padded_hw[0] * padded_hw[1]
                       * plan.in_channels * multiplier, settings,
                       f"The padded input repeated channel_multiplier={multiplier} times")
    macs = spatial_macs(plan)
    if plan.op == "separable_conv2d":
        macs += positions * plan.spatial_out_channels * plan.out_channels
    if not plan.is_depthwise:
        # im2col: N*Ho*Wo*kh*kw*C window values (never more than the MACs), copied once
        # more per group when there are groups; both within max_macs.
        copies = positions * plan.kernel_hw[0] * plan.kernel_hw[1] * plan.in_channels
        copies *= 2 if plan.groups > 1 else 1
        _at_most(
            settings.max_macs, copies, "too_much_work", "input",
            f"The grouped convolution copies {copies:,} window values; the limit is "
            f"{settings.max_macs:,} (max_macs). Use a smaller input or kernel",
        )
    _at_most(
        settings.max_macs, macs, "too_much_work", "input",
        f"This configuration needs {macs:,} multiply-adds; the limit is "
        f"{settings.max_macs:,} (max_macs). Use a smaller input, kernel or fewer channels",
    )


def check_equivalent_kernel(depthwise_shape: tuple[int, ...], pointwise_shape: tuple[int, ...],
                            settings: Settings) -> None:
    """The standard kernel ``(kh, kw, C, O)`` a separable pair equals, and its work
    ``kh*kw*C*M*O``, before it is computed."""
    kh, kw, channels, multiplier = depthwise_shape
    outputs = pointwise_shape[3]
    check_elements("pointwise_filter", kh * kw * channels * outputs, settings,
                   f"The equivalent kernel ({kh}x{kw}x{channels}x{outputs})")
    check_macs(kh * kw * channels * multiplier * outputs, "pointwise_filter", settings)


def check_approximation(filters_shape: tuple[int, ...], multiplier: int,
                        settings: Settings) -> None:
    """The separable pair ``(kh, kw, C, M)`` + ``(1, 1, C*M, O)`` fitted to ``filters``."""
    kh, kw, channels, outputs = filters_shape
    check_channels("channel_multiplier", f"channels x channel_multiplier ({channels} x "
                   f"{multiplier})", channels * multiplier, settings)
    check_elements("channel_multiplier", kh * kw * channels * multiplier, settings,
                   f"The fitted depthwise_filter ({kh}x{kw}x{channels}x{multiplier})")
    check_elements("channel_multiplier", channels * multiplier * outputs, settings,
                   f"The fitted pointwise_filter (1x1x{channels * multiplier}x{outputs})")
    check_macs(kh * kw * channels * multiplier * outputs, "channel_multiplier", settings)


def check_macs(macs: int, field: str, settings: Settings) -> None:
    _at_most(
        settings.max_macs, macs, "too_much_work", field,
        f"This request needs {macs:,} multiply-adds; the limit is {settings.max_macs:,} "
        "(max_macs). Use smaller arrays",
    )


def check_frames(steps: int, settings: Settings) -> None:
    _at_most(
        settings.max_frames, steps, "too_many_frames", "input",
        f"The trace has {steps:,} steps; the limit is {settings.max_frames:,} frames "
        "(max_frames). Trace a smaller input, or fewer channels",
    )


def check_stream_bytes(estimate: int, settings: Settings) -> None:
    _at_most(
        settings.max_stream_bytes, estimate, "stream_too_large", "input",
        f"The trace stream would be about {estimate:,} bytes; the limit is "
        f"{settings.max_stream_bytes:,} (max_stream_bytes). Lower precision, use the "
        "binary encoding, or trace a smaller configuration",
    )


# Bytes per unit of each limit, in the worst case (tests/api/test_memory_walk.py measures
# every route at its worst shapes against the sum).
BODY_BYTES_PER_BYTE = 10  # the raw body twice, and <= 8 bytes of Python objects per byte
WINDOW_COPIES = 1  # im2col columns and a grouped conv's per-group copy: max_macs values
ARRAYS_PER_REQUEST = 8  # float64 inputs, padded input, intermediates, results
RESULTS_PER_ANSWER = 4  # /lessons/groups answers its output four ways
ENCODED_BYTES_PER_VALUE = 64  # a Python float in a list (32), its JSON text (<= 25), gzip


def memory_bound(settings: Settings) -> int:
    """The most memory one request may need above an idle worker, from the limits.

    The body is parsed before anything else is allocated, then dropped to arrays:
    the larger of parsing (``max_body_bytes``) and computing (window copies bounded by
    ``max_macs``, arrays by ``max_elements``), plus encoding the results.
    """
    parsing = BODY_BYTES_PER_BYTE * settings.max_body_bytes
    computing = 8 * (WINDOW_COPIES * settings.max_macs
                     + ARRAYS_PER_REQUEST * settings.max_elements)
    encoding = RESULTS_PER_ANSWER * ENCODED_BYTES_PER_VALUE * settings.max_elements
    return max(parsing, computing) + encoding
