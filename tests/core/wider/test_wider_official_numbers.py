"""Full WIDER val evaluation against numbers from the official MATLAB tool (needs ../shared).

How the expected values were obtained (2026-11, GNU Octave 7.3 from Debian):
the original eval_tools ``.m`` files (``read_pred.m``, ``norm_score.m``,
``evaluation.m``, ``boxoverlap.m``, ``plot/VOCap.m``, as vendored by public
repositories; only ``save(..., '-v7.3')`` changed to ``'-v7'`` and plotting
skipped) were run on prediction folders written by
``core.wider.synthetic.write_synthetic_submission(folder, gt, VALIDATION_SPECS[name])``
(+ ``apply_reader_quirks`` for "quirks") with the eval_tools ground truth of
../shared. For each setting we record Octave's AP (``%.17g``) and three
fingerprints of its 1000-point ``pr_cruve``: the NaN-skipping sum of the
precision column, the sum of the recall column and the last recall. Our
engine reproduced all of them exactly (identical curves, ``np.array_equal``).
Only numbers are kept here, no data.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from core.paths import SHARED_DIR
from core.wider.evaluation import evaluate
from core.wider.groundtruth import from_eval_tools
from core.wider.predictions import PredictionFormatError, read_submission
from core.wider.synthetic import VALIDATION_SPECS, apply_reader_quirks, synthesise, write_synthetic_submission

GT_DIR = SHARED_DIR / "data" / "wider_val_gt" / "eval_tools_ground_truth"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not (GT_DIR / "wider_face_val.mat").is_file(), reason="../shared eval_tools .mat files absent"
    ),
]

# setting -> (AP, nansum(precision), sum(recall), recall at the last threshold), from Octave
OFFICIAL = {
    "jitter": {
        "easy": (0.56050884886739027, 653.7715264377075, 427.99001525447227, 0.8548051587851893),
        "medium": (0.65990113829137509, 767.6815431065554, 429.1759891883775, 0.8595990689991742),
        "hard": (0.76311863576525063, 882.9905152149643, 432.2592778021153, 0.8641341761061393),
    },
    "logits": {
        "easy": (0.14103992407636698, 249.72777630827977, 283.9724032727777, 0.5517958674247677),
        "medium": (0.2102009193575119, 371.06950525116577, 286.89578797207, 0.5578496884150462),
        "hard": (0.33178552005881373, 565.5742396849492, 295.783403216722, 0.5835784467113085),
    },
    "halfpixel": {
        "easy": (0.62349923357223258, 653.5970277843147, 487.713215920122, 0.9454999306614894),
        "medium": (0.66719278876593657, 700.5383269273773, 486.1837225016893, 0.9482693895938133),
        "hard": (0.70923557684121319, 746.0922399382281, 482.0197759559422, 0.9493084673634145),
    },
    # the ground truth itself as predictions (random scores): not 1.0 in the official
    # tool, because first-match binds some predictions to an overlapping neighbour
    "perfect": {
        "easy": (0.99983309163262979, 999.9693554830928, 502.90722507280543, 0.9998613229787824),
        "medium": (0.99974851062278669, 999.9720314701665, 502.7986335310459, 0.9997747578647046),
        "hard": (0.99942333815929263, 999.8520264227196, 500.034326303273, 0.9995619250265975),
    },
}
# files read by read_pred.m's rules: "jitter" rewritten by apply_reader_quirks
# (34 files announce too many rows and lose their detections; Octave printed 34 "Invalid format")
OFFICIAL_QUIRKS = {
    "easy": (0.5553047385824218, 655.2298042440729, 423.32062127305505, 0.8453751213423936),
    "medium": (0.65405430230117778, 768.9723952671187, 425.0120879945942, 0.8507395450108867),
    "hard": (0.75235915620097937, 883.2600051882084, 426.2350585143, 0.8517429125727517),
}
# our corrected mode on the same sets (no official counterpart; pinned to catch regressions)
CORRECTED = {
    "jitter": (0.56911357812378338, 0.66687530876926804, 0.76779155689915868),
    "logits": (0.14267215150034715, 0.21146044446924239, 0.33515526299546666),
    "halfpixel": (0.62677990591869948, 0.66929554352546738, 0.710333491118189),
    # < 1: one duplicated annotation (21_Festival_Festival_21_604) and one box of negative width
    "perfect": (0.99998925118485027, 0.99999414911570461, 0.99992895466391818),
}


@pytest.fixture(scope="module")
def gt():
    return from_eval_tools(GT_DIR)


def check_official(result, expected):
    for setting, (ap, precision_sum, recall_sum, last_recall) in expected.items():
        s = result.settings[setting]
        assert s.ap == pytest.approx(ap, rel=0, abs=1e-13), setting
        assert float(np.nansum(s.precision)) == pytest.approx(precision_sum, rel=1e-13), setting
        assert float(s.recall.sum()) == pytest.approx(recall_sum, rel=1e-13), setting
        assert float(s.recall[-1]) == last_recall, setting


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_synthetic_sets_match_the_official_tool(gt, name):
    # in memory: the files Octave read hold exactly these values (shortest repr round-trips)
    predictions, kinds = synthesise(gt, VALIDATION_SPECS[name])
    result = evaluate(gt, predictions, breakdown=False)
    check_official(result, OFFICIAL[name])
    corrected = evaluate(gt, predictions, mode="corrected", breakdown=False)
    assert tuple(corrected.ap().values()) == pytest.approx(CORRECTED[name], rel=0, abs=1e-13)


def test_whole_val_set_evaluates_fast(gt):
    predictions, _ = synthesise(gt, VALIDATION_SPECS["halfpixel"])
    start = time.perf_counter()
    result = evaluate(gt, predictions, breakdown=True)
    seconds = time.perf_counter() - start
    assert seconds < 10.0, f"full val evaluation took {seconds:.1f} s"
    assert len(result.breakdown) > 0 and result.num_evaluated_predictions > 50_000


def test_sloppy_files_read_like_read_pred(gt, tmp_path):
    folder = tmp_path / "quirks"
    write_synthetic_submission(folder, gt, VALIDATION_SPECS["jitter"])
    quirks = apply_reader_quirks(folder, list(gt.keys))
    with pytest.raises(PredictionFormatError):  # FaceScope's default: stop at the first malformed file
        read_submission(folder, gt.keys)
    sub = read_submission(folder, gt.keys, on_error="official")
    assert len(sub.dropped) == sum(q == "count_too_large" for q in quirks.values()) == 34
    assert len(sub.name_mismatches) == sum(q == "wrong_name_line" for q in quirks.values())
    check_official(evaluate(gt, sub, breakdown=False), OFFICIAL_QUIRKS)
