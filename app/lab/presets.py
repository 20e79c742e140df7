"""The lab page's presets: sets of up to four runs compared side by side on one seed.

Each run is the ``LabConfig`` fields that differ from the defaults, and a ``label`` key
of the page's strings (``lab.run.<label>``). The seed's four experiments come first: the
question the lab exists to answer.
"""

from __future__ import annotations

from dataclasses import fields

from app.lab.config import LabConfig, LabLimits

MAX_RUNS = 4

PRESETS: dict[str, list[dict]] = {
    # "separable_conv2d in place of conv2d stops at ~10 %; with the pointwise fixed at ones,
    # still ~10 %; conv2d reaches 99 %; channel_multiplier 2 is much better."
    "seed": [
        {"label": "standard", "first_layer": "standard"},
        {"label": "separable_m1", "first_layer": "separable", "channel_multiplier": 1},
        {"label": "fixed_pointwise_m1", "first_layer": "separable_fixed_pointwise",
         "channel_multiplier": 1},
        {"label": "separable_m2", "first_layer": "separable", "channel_multiplier": 2},
    ],
    "multiplier": [
        {"label": "separable_m1", "first_layer": "separable", "channel_multiplier": 1},
        {"label": "separable_m2", "first_layer": "separable", "channel_multiplier": 2},
        {"label": "separable_m4", "first_layer": "separable", "channel_multiplier": 4},
        {"label": "standard", "first_layer": "standard"},
    ],
    "depthwise": [
        {"label": "depthwise_m1", "first_layer": "depthwise", "channel_multiplier": 1},
        {"label": "depthwise_m4", "first_layer": "depthwise", "channel_multiplier": 4},
        {"label": "fixed_pointwise_m4", "first_layer": "separable_fixed_pointwise",
         "channel_multiplier": 4},
        {"label": "separable_m4", "first_layer": "separable", "channel_multiplier": 4},
    ],
    "optimizer": [
        {"label": "standard_adam", "first_layer": "standard", "optimizer": "adam"},
        {"label": "standard_sgd", "first_layer": "standard", "optimizer": "sgd",
         "learning_rate": 0.05},
        {"label": "separable_m1_adam", "first_layer": "separable", "optimizer": "adam"},
        {"label": "separable_m1_sgd", "first_layer": "separable", "optimizer": "sgd",
         "learning_rate": 0.05},
    ],
    # The classic initialisation bug: a depthwise kernel's fan-in is k*k, not k*k*C. It needs
    # C > 1, so these runs add a second separable layer over the first layer's 8 outputs.
    "fan_in": [
        {"label": "second_right", "first_layer": "standard", "second_layer": "separable",
         "optimizer": "sgd", "learning_rate": 0.05},
        {"label": "second_wrong", "first_layer": "standard", "second_layer": "separable",
         "depthwise_fan_in": "kh_kw_c", "optimizer": "sgd", "learning_rate": 0.05},
        {"label": "separable_second_right", "first_layer": "separable",
         "second_layer": "separable", "optimizer": "sgd", "learning_rate": 0.05},
        {"label": "separable_second_wrong", "first_layer": "separable",
         "second_layer": "separable", "depthwise_fan_in": "kh_kw_c", "optimizer": "sgd",
         "learning_rate": 0.05},
    ],
}

_FIELDS = {spec.name for spec in fields(LabConfig)}


def preset_configs(name: str, **shared: object) -> list[LabConfig]:
    """The runs of preset ``name`` as configs, with ``shared`` fields (seed, epochs) set."""
    return [
        LabConfig(**{**{k: v for k, v in run.items() if k in _FIELDS}, **shared})
        for run in PRESETS[name]
    ]


def page_presets(limits: LabLimits) -> dict:
    """What the lab page needs: presets, defaults, the fields' bounds."""
    return {
        "presets": PRESETS,
        "defaults": LabConfig().as_dict(),
        "max_runs": MAX_RUNS,
        "limits": {"max_epochs": limits.max_epochs, "max_examples": limits.max_examples},
    }
