"""Named starting points for a ScaleFace model, as ``--set``-style overrides.

``cpu`` is the model FaceScope ships and trains on two CPU cores (ADR 0026):
three branches on CenterFace's frozen WIDER-trained trunk, the small one fusing
its neck, RoI pools by the paper's rule and proposal counts cut for a CPU
step — a few GB of memory at most. ``paper`` is the configuration class's own
defaults: ResNet-50 trained end to end (with ImageNet ``backbone_weights``), for
a GPU. The Training panel offers both; a TOML file or later overrides win.
"""

from __future__ import annotations

SCALEFACE_PRESETS: dict[str, tuple[str, ...]] = {
    "cpu": (
        'task.model.backbone="mobilenet_v2"',
        "task.model.init_from_centerface=true",
        'task.model.input_norm="raw255"',
        "task.model.freeze_trunk=true",
        'task.model.fusion="small"',
        "task.model.pool_sizes=[3, 5, 9]",
        "task.model.ohem_rois_per_image=64",
        "task.model.rpn_pre_nms_train=600",
        "task.model.rpn_post_nms_train=150",
        "task.data.crop_size=512",
    ),
    "paper": (),
}
PRESET_TITLES = {
    "cpu": "CenterFace trunk, frozen (CPU; the bundled model)",
    "paper": "ResNet-50 end to end (the paper; GPU)",
}
