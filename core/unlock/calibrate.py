"""Unlock thresholds at a chosen false-accept rate: the shipped calibration and the user's own.

The unlock score is the cosine between a probe frame's descriptor and a
user's *template mean* (the normalised mean of N enrolment descriptors), so
the thresholds are calibrated with that protocol, not on single image pairs:
for every identity, a template is the mean of ``enrol`` images and the
*genuine* scores are its other images; the *impostor* scores are every
template against every image of every other identity
(:func:`template_protocol_scores`). :func:`core.recognize.calibration.calibrate`
turns impostor scores into an :class:`~core.recognize.calibration.OperatingPoint`
per FAR, which reports how many impostor pairs back it and whether that is
enough (``supported``).

The shipped file ``resources/models/unlock_calibration.json`` holds only
derived numbers (thresholds, pair counts, measured FAR/TAR) with their
provenance; ``tools/calibrate_unlock.py`` regenerates it from CFP. The FAR is
*per frame and per enrolled user*: with U users enrolled a frame is compared
with U templates, so the chance that some template accepts an impostor frame
is up to U × FAR.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.atomic import write_text_atomic
from core.errors import UserError
from core.paths import MODELS_DIR
from core.recognize.calibration import MIN_FALSE_ACCEPTS, OperatingPoint, calibrate_many
from core.recognize.stems import stem_spec
from core.unlock.template_data import ModelInfo, mean_template

log = logging.getLogger(__name__)

CALIBRATION_FILE = MODELS_DIR / "unlock_calibration.json"
#: The FARs the UI offers.
FARS = (1e-2, 1e-3, 1e-4)
DEFAULT_FAR = 1e-3
#: Enrolment frames per template in the calibration protocol (the enrolment default).
ENROL_FRAMES = 5
FORMAT = "facescope-unlock-calibration"


class CalibrationError(UserError, ValueError):
    """A missing or malformed calibration, or a FAR it does not hold; ``str()`` is for the user."""


def calibration_mode(stem: str, use_dream: bool) -> str:
    """The calibration an unlock pipeline reads: ``"dream"`` or ``"stem"`` for face-api's stem, else
    the stem's name (``"faceres"``) with ``"_dream"`` when DREAM is on (``"faceres_dream"``)."""
    if stem != "faceapi":
        return f"{stem}_dream" if use_dream else stem
    return "dream" if use_dream else "stem"


@dataclass
class UnlockCalibration:
    """Operating points per descriptor mode (``"dream"`` / ``"stem"``) plus where they come from.

    points: ``{mode: [OperatingPoint, ...]}`` (one per calibrated FAR).
    provenance: free-form description (data set, protocol, counts, tool, weights).
    """

    points: dict[str, list[OperatingPoint]]
    provenance: dict = field(default_factory=dict)

    def fars(self, mode: str = "dream") -> list[float]:
        return [op.target_far for op in self.points.get(mode, [])]

    def at_far(self, far: float, mode: str = "dream") -> OperatingPoint:
        """The operating point for ``far`` (relative tolerance 1e-9); :class:`CalibrationError` if absent."""
        for op in self.points.get(mode, []):
            if math.isclose(op.target_far, far, rel_tol=1e-9):
                return op
        raise CalibrationError(
            f"No unlock threshold calibrated at FAR {far:g} for {mode!r}; available: "
            f"{', '.join(f'{f:g}' for f in self.fars(mode)) or 'none'}."
        )

    def check_made_for(self, stem: str, model: ModelInfo) -> None:
        """Refuse thresholds calibrated on other weights or chip views than ``model``'s (a different
        embedding), with the command that recalibrates. A calibration that names no weights (made by
        hand, or by a caller) is not checked."""
        spec = stem_spec(stem)
        recorded = self.provenance.get("weights_sha256")
        if not isinstance(recorded, dict) or spec.weights not in recorded:
            return
        fix = "run `python tools/calibrate_unlock.py`."
        for name, sha in ((spec.weights, model.descriptor_sha256), (spec.dream_weights, model.dream_sha256)):
            if name and sha and recorded.get(name, sha) != sha:
                raise CalibrationError(
                    f"The unlock thresholds were calibrated on other {name} weights: {fix}"
                )
        views = self.provenance.get("views")
        made_on = str(views.get(spec.name, "")) if isinstance(views, dict) else ""
        if made_on != spec.views:
            raise CalibrationError(
                f"The unlock thresholds were calibrated on {spec.name} seen through views "
                f"{made_on or 'one chip'}, but it now uses {spec.views or 'one chip'}: {fix}"
            )

    def warning(self, far: float, mode: str = "dream") -> str | None:
        """A sentence for the UI when too few impostor pairs back ``far``, else ``None``."""
        op = self.at_far(far, mode)
        if op.supported:
            return None
        return (
            f"FAR {far:g} rests on only {op.impostors} impostor pairs (about {far * op.impostors:.1f} "
            f"expected false accepts; {MIN_FALSE_ACCEPTS} wanted): the threshold is a rough estimate."
        )

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": 1,
            "provenance": self.provenance,
            "points": {mode: [op.to_json() for op in ops] for mode, ops in self.points.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> UnlockCalibration:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CalibrationError("not a FaceScope unlock calibration")
        try:
            points = {
                str(mode): [OperatingPoint.from_json(op) for op in ops]
                for mode, ops in data["points"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"malformed unlock calibration ({exc})") from None
        return cls(points, dict(data.get("provenance", {})))

    def save(self, path: str | os.PathLike) -> Path:

        return write_text_atomic(path, json.dumps(self.to_json(), indent=1) + "\n")


def load_calibration(path: str | os.PathLike | None = None) -> UnlockCalibration:
    """The shipped calibration (or ``path``); :class:`CalibrationError` names the file and the fix."""
    path = Path(path) if path is not None else CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(
            f"Unlock calibration {path} is missing: run `python tools/calibrate_unlock.py`."
        ) from None
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"Unlock calibration {path} is unreadable ({exc}).") from None
    try:
        return UnlockCalibration.from_json(data)
    except CalibrationError as exc:
        raise CalibrationError(f"{path}: {exc}") from None


def template_protocol_scores(
    embeddings: np.ndarray,
    identities: np.ndarray,
    enrol: int = ENROL_FRAMES,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Genuine and impostor scores of the template-mean protocol (see module docstring).

    embeddings: ``(N, d)`` unit rows (NaN rows are skipped); identities: ``(N,)`` labels.
    Identities with fewer than ``enrol + 1`` usable images give no template (their
    images still serve as impostor probes). Returns ``(genuine, impostor, counts)``.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    ids = np.asarray(identities)
    ok = np.isfinite(emb).all(axis=1)
    emb, ids = emb[ok], ids[ok]
    rng = np.random.default_rng(seed)
    templates, owners, genuine = [], [], []
    for ident in np.unique(ids):
        rows = np.flatnonzero(ids == ident)
        if len(rows) < enrol + 1:
            continue
        rows = rng.permutation(rows)
        mean = mean_template(emb[rows[:enrol]])
        templates.append(mean)
        owners.append(ident)
        genuine.append(emb[rows[enrol:]] @ mean)
    if not templates:
        raise CalibrationError(f"no identity has {enrol + 1} usable images")
    t = np.stack(templates)  # (T, d)
    owners_arr = np.array(owners)
    sims = emb @ t.T  # (N, T)
    other = ids[:, None] != owners_arr[None, :]
    impostor = sims[other].astype(np.float64)
    gen = np.concatenate(genuine).astype(np.float64)
    counts = {
        "templates": len(templates),
        "images": int(len(emb)),
        "genuine": int(len(gen)),
        "impostor": int(len(impostor)),
    }
    return gen, impostor, counts


def calibrate_scores(
    impostor: np.ndarray,
    genuine: np.ndarray | None = None,
    fars: tuple[float, ...] = FARS,
    mode: str = "dream",
    provenance: dict | None = None,
) -> UnlockCalibration:
    """An :class:`UnlockCalibration` from the user's own scores (e.g. their frames vs other templates).

    impostor: cosine scores of different-person (probe, template) pairs; genuine: same-person (optional,
    gives TAR). Too few impostors for a FAR gives ``supported=False`` (see :meth:`UnlockCalibration.warning`).
    """
    imp = np.asarray(impostor, dtype=np.float64).ravel()
    imp = imp[np.isfinite(imp)]
    gen = None if genuine is None else np.asarray(genuine, dtype=np.float64).ravel()
    if gen is not None:
        gen = gen[np.isfinite(gen)]
    if len(imp) == 0:
        raise CalibrationError("Calibration needs at least one impostor score.")
    return UnlockCalibration(
        {mode: calibrate_many(imp, fars, gen)}, dict(provenance or {"source": "user pairs"})
    )


def calibrate_embeddings(
    embeddings: np.ndarray,
    identities: np.ndarray,
    fars: tuple[float, ...] = FARS,
    mode: str = "dream",
    enrol: int = ENROL_FRAMES,
    provenance: dict | None = None,
) -> UnlockCalibration:
    """The template-mean protocol on labelled unit descriptors (the user's own faces, or a data set)."""
    gen, imp, counts = template_protocol_scores(embeddings, identities, enrol)
    prov = {"source": "user pairs", "protocol": f"template mean of {enrol} vs other images", **counts}
    prov.update(provenance or {})
    return calibrate_scores(imp, gen, fars, mode, prov)
