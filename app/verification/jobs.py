"""Worker jobs of the Verification panel. They compute and return plain data; the panel draws.

* :func:`compare_job` — two images (main face of each) or two faces of one
  image → :class:`Comparison` (both modes' results, aligned chips, landmarks);
* :func:`faces_job` — every face of the current image, described for picking;
* :func:`cfp_job` — a generator: extract/cached features (progress), evaluate
  a CFP protocol with and without DREAM, and cut thumbnails of the worst
  false accepts and false rejects → :class:`CfpRun`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.cfp.protocol import CfpProtocol, parse_folds
from core.io.imageio import ImageLoadError, load_image
from core.progress import Progress, relabelled
from core.recognize.stems import DEFAULT_STEM, stem_spec

if TYPE_CHECKING:  # the engine imports torch: the jobs import it, the window never waits for it
    from core.cfp.evaluate import CfpEvaluation
    from core.recognize.align import AlignedFace
    from core.recognize.verify import FaceSide, PairResult, Verifier

GALLERY_SIZE = 12
THUMB = 96


class LazyVerifier:
    """A :class:`~core.recognize.verify.Verifier` per stem, each built on first use, normally inside a job.

    Importing the verifier pulls in torch (1–2 s); the panel holds this proxy so
    the window opens without it. ``far`` and ``stem`` can be read and set
    before a verifier exists; every other attribute builds the one of the
    current stem (thread-safe).
    """

    def __init__(self, stem: str = DEFAULT_STEM) -> None:
        self._lock = threading.Lock()
        self._verifiers: dict[str, Verifier] = {}
        self._far: Any = _UNSET
        self.stem = stem_spec(stem).name

    @property
    def _real(self) -> Verifier | None:
        return self._verifiers.get(self.stem)

    @property
    def has_dream(self) -> bool:
        """Whether the current stem has a DREAM block (known without loading it)."""
        return stem_spec(self.stem).has_dream

    def get(self) -> Verifier:
        with self._lock:
            stem = self.stem
            if stem not in self._verifiers:
                # lazy: the engine (torch) loads in the first job, not at start-up
                from core.recognize.verify import Verifier

                self._verifiers[stem] = Verifier(stem=stem)
            real = self._verifiers[stem]
            if self._far is not _UNSET:
                real.far = self._far
            return real

    def reset(self) -> None:
        """Forget the built verifiers (the next use builds one again); the chosen ``far`` stays."""
        with self._lock:
            if self._real is not None:
                self._far = self._real.far
            self._verifiers.clear()

    @property
    def far(self):
        return self._far if self._real is None else self._real.far

    @far.setter
    def far(self, value) -> None:
        self._far = value
        if self._real is not None:
            self._real.far = value

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.get(), name)


_UNSET = object()


@dataclass
class Comparison:
    """One compared pair: the result in both modes and what to draw for each face."""

    with_dream: PairResult
    without_dream: PairResult
    chips: tuple[AlignedFace, AlignedFace]
    labels: tuple[str, str]


def _chip(image: np.ndarray, side: FaceSide, stem: str) -> AlignedFace:
    """What the stem sees: face-api's dlib square, or the 5-point aligned chip (landmarks drawn on both)."""
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.recognize.align import align_5pt, faceapi_chip
    from core.recognize.faceres_embedder import alignment_points, faceres_template

    record = side.record
    if stem == "faceapi":
        return faceapi_chip(image, record.landmarks68)
    points = alignment_points(record.points5, record.landmarks68)
    return align_5pt(image, points, size=224, template=faceres_template(), landmarks=record.landmarks68)


def compare_sides(
    verifier: Verifier, images: tuple[np.ndarray, np.ndarray], sides: tuple[FaceSide, FaceSide], labels
) -> Comparison:
    """Both decisions of a pair; a stem without a DREAM block decides "with DREAM" without it too."""
    return Comparison(
        verifier.compare(sides[0], sides[1], use_dream=verifier.has_dream),
        verifier.compare(sides[0], sides[1], use_dream=False),
        (_chip(images[0], sides[0], verifier.stem), _chip(images[1], sides[1], verifier.stem)),
        tuple(labels),
    )


def rethreshold(verifier: Verifier, comparison: Comparison) -> Comparison:
    """The same faces decided at the verifier's current operating point (no model runs)."""
    a, b = comparison.with_dream.a, comparison.with_dream.b
    return Comparison(
        verifier.compare(a, b, use_dream=verifier.has_dream),
        verifier.compare(a, b, use_dream=False),
        comparison.chips,
        comparison.labels,
    )


def compare_job(verifier: Verifier, path_a: Path, path_b: Path) -> Comparison:
    """Main face of each image (the whole image when none is detected)."""
    images = (load_image(path_a), load_image(path_b))
    sides = []
    for path, image in zip((path_a, path_b), images, strict=True):
        side = verifier.describe_image(image)
        if side is None:
            raise ValueError(f"{path}: no face")
        sides.append(side)
    return compare_sides(verifier, images, (sides[0], sides[1]), (Path(path_a).name, Path(path_b).name))


@dataclass
class FacesOfImage:
    path: Path
    image: np.ndarray
    sides: list[FaceSide]


def faces_job(verifier: Verifier, path: Path, image: np.ndarray) -> FacesOfImage:
    return FacesOfImage(path, image, verifier.describe_faces(image))


@dataclass
class GalleryPair:
    """A pair of the CFP evaluation with both thumbnails (``(THUMB, THUMB, 3)`` uint8)."""

    index: int
    fold: int
    label: int
    score: float
    threshold: float
    key_a: str
    key_b: str
    thumb_a: np.ndarray
    thumb_b: np.ndarray


@dataclass
class CfpRun:
    root: Path
    protocol: str
    results: dict[str, CfpEvaluation]  # "stem", and "dream" where the stem has a DREAM block
    stem: str = DEFAULT_STEM
    gallery: dict[tuple[str, str], list[GalleryPair]] = field(default_factory=dict)  # (mode, "fa"/"fr")
    notes: list[str] = field(default_factory=list)


def _thumb(root: Path, key: str, table, cache: dict[str, np.ndarray]) -> np.ndarray:
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.recognize.align import faceapi_chip

    if key in cache:
        return cache[key]
    try:
        image = load_image(root / key)
        chip = faceapi_chip(image, table.landmarks68[table.rows([key])[0]], size=THUMB).chip
    except (ImageLoadError, OSError):
        chip = np.zeros((THUMB, THUMB, 3), np.uint8)
    cache[key] = chip
    return chip


def cfp_job(verifier: Verifier, root: Path, protocol: str, folds_text: str, token=None):
    """Generator job → :class:`CfpRun` (``None`` when cancelled)."""
    # lazy: the engine (torch) loads in the first job, not at start-up
    from core.cfp.evaluate import evaluate_protocol, fold_keys
    from core.cfp.features import extract_features
    from core.cfp.stem_features import stem_embeddings
    from core.recognize.faceres_embedder import FaceResEmbedder

    yield Progress(message="reading the CFP protocol")
    cfp = CfpProtocol.open(root)
    present = cfp.folds(protocol)
    folds = parse_folds(folds_text) if folds_text.strip() else present
    missing = [k for k in folds if k not in present]
    if missing or not folds:
        raise ValueError(f"fold(s) {missing or folds} are not in {root}/Protocol/Split/{protocol}")
    keys = fold_keys(cfp, (protocol,), folds)
    table = yield from relabelled(
        extract_features(cfp.root, keys, token=token), lambda p: f"stem features {p.done}/{p.total}"
    )
    if token is not None and token.cancelled:
        return None
    if len(table) < len(keys):
        raise ValueError(f"{len(keys) - len(table)} CFP images have no features")
    if verifier.stem != "faceapi":
        embeddings = yield from relabelled(
            stem_embeddings(cfp.root, table, FaceResEmbedder()),
            lambda p: f"{verifier.stem} {p.done}/{p.total}",
        )
        table = dataclasses.replace(table, embeddings=embeddings)
    yield Progress(message="evaluating with and without DREAM")
    mapper = verifier.mapper
    modes = ("stem", "dream") if verifier.has_dream else ("stem",)
    results = {
        mode: evaluate_protocol(cfp, table, protocol, folds, mapper, use_dream=mode == "dream")
        for mode in modes
    }
    run = CfpRun(cfp.root, protocol, results, stem=verifier.stem)
    thumbs: dict[str, np.ndarray] = {}
    for mode, ev in results.items():
        for kind in ("fa", "fr"):
            pairs = []
            for i in ev.worst(kind, GALLERY_SIZE):
                p = ev.pairs
                pairs.append(
                    GalleryPair(
                        i,
                        int(p.fold[i]),
                        int(p.labels[i]),
                        float(p.scores[i]),
                        float(p.thresholds[i]),
                        p.keys_a[i],
                        p.keys_b[i],
                        _thumb(cfp.root, p.keys_a[i], table, thumbs),
                        _thumb(cfp.root, p.keys_b[i], table, thumbs),
                    )
                )
            run.gallery[(mode, kind)] = pairs
        yield Progress(message="cutting gallery thumbnails")
    run.notes = [n for ev in results.values() for n in ev.notes]
    return run
