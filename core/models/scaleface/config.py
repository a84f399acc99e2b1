"""ScaleFace's configuration: the ``[task.model]`` TOML table and its allowed ranges."""

from __future__ import annotations

from dataclasses import dataclass

from core.ranges import check_ranges

BACKBONES = ("resnet50", "mobilenet_v2", "tiny")
INPUT_NORMS = ("imagenet", "raw255")
# fusion → how many branches, from the small one up, read the neck
FUSED_BRANCHES = {"none": 0, "small": 1, "small_medium": 2}
FUSIONS = tuple(FUSED_BRANCHES)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


_IOU = (0.0, 1.0)
_COUNT = (1, 100_000)
# Ranges a checkpoint or TOML file may ask for: far beyond any sensible model, short of
# allocations that exhaust memory (roi_hidden=2,000,000 alone asks for 12.8 GB).
CONFIG_RANGES: dict[str, tuple[float, float]] = {
    "width_mult": (0.1, 4.0),
    "branch_channels": (0, 2048),
    "roi_hidden": (0, 8192),
    "pool_sizes": (1, 32),
    "anchors_per_branch": (1, 16),
    "anchor_ratio": (0.1, 10.0),
    "large_anchor_max": (1.0, 10_000.0),
    "min_face_height": (0.0, 10_000.0),
    "ignore_iou": _IOU,
    "rpn_fg_iou": _IOU,
    "rpn_bg_iou": _IOU,
    "rpn_batch_per_image": _COUNT,
    "rpn_pre_nms_train": _COUNT,
    "rpn_post_nms_train": _COUNT,
    "rpn_pre_nms_test": _COUNT,
    "rpn_post_nms_test": _COUNT,
    "rpn_nms_iou": _IOU,
    "rpn_min_score_test": _IOU,
    "roi_fg_iou": _IOU,
    "ohem_rois_per_image": _COUNT,
    "ohem_nms_iou": _IOU,
    "score_thresh": _IOU,
    "nms_iou": _IOU,
    "max_per_branch": _COUNT,
    "max_detections": _COUNT,
}


@dataclass
class ScaleFaceConfig:
    """Architecture and detection hyper-parameters (the ``[task.model]`` TOML table).

    backbone: ``"resnet50"``, ``"mobilenet_v2"`` (``width_mult`` applies to it) or
        ``"tiny"`` (a 9-conv plain CNN for tests and smoke runs, not for real training).
    backbone_weights: a torchvision ImageNet state-dict file (``resnet50-*.pth`` /
        ``mobilenet_v2-*.pth``) to start from; ``None`` = random init.
    init_from_centerface: MobileNetV2 ×1.0 only: copy the bundled CenterFace
        backbone (BatchNorm folded into its convs: BN set to identity + bias) and the
        upsampling neck :attr:`fusion` reads; needs ``input_norm = "raw255"``.
    input_norm: ``"imagenet"`` (mean/std of [0, 1] input, torchvision's trunks) or
        ``"raw255"`` (RGB 0..255 as it is, what CenterFace's trunk was trained on).
    freeze_trunk: the trunk (and the fusion neck) run without gradients, in eval mode;
        only the branches learn (their input features can then be cached).
    tune_last_stage: with ``freeze_trunk``, the trunk's last stage (stride 32) learns
        too; BatchNorm statistics stay fixed, the neck's weights stay frozen but pass
        gradients to it. Cached features still serve: the stage reruns on the
        cached stride-16 map.
    fusion: which branches also read CenterFace's neck (stride-32 features upsampled
        and added to the lateral ones, 24 channels, concatenated to the trunk's):
        ``"none"``, ``"small"`` or ``"small_medium"``; needs ``init_from_centerface``
        when training starts (a checkpoint carries the neck's weights itself).
    rpn_min_score_test: at inference, proposals under this objectness are dropped before
        NMS and the RoI head (0.02 changed no AP on the WIDER dev sets and cut 40 % of the
        time at 640×480); training keeps every proposal.
    ohem: hardest ``ohem_rois_per_image`` RoIs (True) or a random sample of as many,
        at most a quarter positive (False, Fast R-CNN's sampling).
    norm: ``"bn"``, ``"frozen"`` (FrozenBatchNorm2d), ``"syncbn"`` (DDP), or
        ``"auto"`` = frozen with ImageNet weights, trainable BN otherwise.
    branch_channels / roi_hidden: 0 = 256 / 1024 (ResNet-50) or 64 / 256 (the others).
    pool_sizes: RoIAlign output size of the small, medium, large branch.
    """

    backbone: str = "resnet50"
    width_mult: float = 1.0
    backbone_weights: str | None = None
    init_from_centerface: bool = False
    input_norm: str = "imagenet"
    freeze_trunk: bool = False
    tune_last_stage: bool = False
    fusion: str = "none"
    norm: str = "auto"
    branch_channels: int = 0
    roi_hidden: int = 0
    pool_sizes: tuple[int, int, int] = (5, 7, 9)
    anchors_per_branch: int = 3
    anchor_ratio: float = 1.25
    large_anchor_max: float = 560.0
    min_face_height: float = 10.0
    ignore_iou: float = 0.3
    rpn_fg_iou: float = 0.6
    rpn_bg_iou: float = 0.3
    rpn_batch_per_image: int = 256
    rpn_pre_nms_train: int = 2000
    rpn_post_nms_train: int = 500
    rpn_pre_nms_test: int = 1000
    rpn_post_nms_test: int = 300
    rpn_nms_iou: float = 0.7
    rpn_min_score_test: float = 0.02
    roi_fg_iou: float = 0.5
    ohem_rois_per_image: int = 128
    ohem_nms_iou: float = 0.7
    ohem: bool = True
    score_thresh: float = 0.05
    nms_iou: float = 0.3
    max_per_branch: int = 300
    max_detections: int = 750

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, not {self.backbone!r}")
        if self.norm not in ("auto", "bn", "frozen", "syncbn"):
            raise ValueError(f"norm must be auto, bn, frozen or syncbn, not {self.norm!r}")
        if self.init_from_centerface and (self.backbone != "mobilenet_v2" or self.width_mult != 1.0):
            raise ValueError("init_from_centerface needs backbone mobilenet_v2 with width_mult 1.0")
        if self.input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {', '.join(INPUT_NORMS)}, not {self.input_norm!r}")
        if self.init_from_centerface and self.input_norm != "raw255":
            raise ValueError('init_from_centerface needs input_norm = "raw255" (CenterFace reads RGB 0..255)')
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, not {self.fusion!r}")
        if self.fusion != "none" and (self.backbone != "mobilenet_v2" or self.width_mult != 1.0):
            raise ValueError("fusion reads CenterFace's neck: it needs backbone mobilenet_v2, width_mult 1.0")
        if self.tune_last_stage and not self.freeze_trunk:
            raise ValueError(
                "tune_last_stage tunes one stage of a frozen trunk: it needs freeze_trunk = true"
            )
        check_ranges("ScaleFace model", vars(self), CONFIG_RANGES)
