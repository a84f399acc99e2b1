"""The recognition stems a user can choose: one row per stem, looked up by name.

A *stem* is the network that turns an aligned face into an identity
embedding. ``faceapi`` is face-api's 128-d dlib ResNet on its own eye/mouth
square; ``faceres`` is HSE FaceRec's 1024-d MobileNet (human's ``faceres``)
on a 5-point aligned chip. Embeddings of two stems live in different spaces:
a score between them means nothing, so stores and thresholds carry the
stem's name (ADR 0025).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import UserError


@dataclass(frozen=True)
class StemSpec:
    """One stem: its name (CLI ``--stem``, settings), menu label, weights file, embedding size,
    its own DREAM block's weights (``""``: none shipped; verification then runs without DREAM) and
    the chip views it averages (``"1+1m+1.3+1.3m"``: looseness, ``m`` mirrored; ``""``: its one
    chip). Views change the embedding as weights do, so templates and thresholds name them."""

    name: str
    label: str
    weights: str
    dim: int
    dream_weights: str = ""
    views: str = ""

    @property
    def has_dream(self) -> bool:
        return bool(self.dream_weights)


STEMS: dict[str, StemSpec] = {
    spec.name: spec
    for spec in (
        # two chips (the ArcFace one and 1.3x looser), each also mirrored: chosen on folds 1–8 (ADR 0031)
        StemSpec(
            "faceres", "HSE FaceRec MobileNet (1024-d)", "faceres", 1024, "dream_faceres", "1+1m+1.3+1.3m"
        ),
        StemSpec("faceapi", "face-api dlib ResNet (128-d)", "faceapi_face_recognition", 128, "dream_faceapi"),
    )
}
#: Best CFP-FP EER on the tuning folds 1–8 (ADR 0025), with its own DREAM block (ADR 0029).
DEFAULT_STEM = "faceres"
#: Unlock's default: face-api's descriptor costs 0.6× faceres's per frame and is the more accurate on
#: frontal faces (CFP frontal templates); faceres did not meet the per-frame budget where measured (ADR 0029).
UNLOCK_STEM = "faceapi"


class UnknownStemError(UserError, ValueError):
    """A stem name that is not in :data:`STEMS`."""


def stem_spec(name: str) -> StemSpec:
    """The row of ``name``; a clear :class:`UnknownStemError` listing the choices otherwise."""
    try:
        return STEMS[name]
    except KeyError:
        raise UnknownStemError(f"unknown stem {name!r} (choose one of {', '.join(STEMS)})") from None
