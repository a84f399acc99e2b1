"""``python main.py verify-pairs --pairs CSV --root DIR [--stem S] [--dream on|off|auto] [--far F|accuracy] [--json OUT|-]``.

The CSV has columns ``img_a,img_b[,label]`` (paths relative to ``--root``;
a header row naming them is optional; label 1 = same person, 0 = not).
Every distinct image is embedded once. Output: one score per pair (and the
decision at the calibrated threshold of its pose bucket); with labels also
EER, AUC and TAR at FAR 1e-1, 1e-2, 1e-3 (``null`` where there are too few
impostor pairs to measure that FAR). JSON::

    {"stem", "dream", "pairs": [{"img_a", "img_b", "score", "accepted", "bucket", "label"?}],
     "metrics": {"pairs", "genuine", "impostor", "eer", "auc", "tar_at_far": {"0.1", "0.01", "0.001"}}}

Exit codes: 0 done, 2 bad CSV / unreadable image, 1 missing model weights.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

from core.cli.output import emit_json
from core.cli.verify import add_stem_arguments, parse_far, use_dream
from core.errors import FormatError
from core.io.imageio import ImageLoadError, load_image
from core.recognize.roc import auc, eer, tar_at_far

log = logging.getLogger(__name__)

REPORT_FARS = (1e-1, 1e-2, 1e-3)


class PairsError(FormatError, ValueError):
    """The pairs CSV is malformed; the message names the line."""


def read_pairs_csv(path: str | Path) -> list[tuple[str, str, int | None]]:
    """Rows ``(img_a, img_b, label or None)``; all rows must agree on having a label."""
    rows: list[tuple[str, str, int | None]] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for number, row in enumerate(csv.reader(fh), 1):
            cells = [c.strip() for c in row]
            if not cells or all(not c for c in cells):
                continue
            if number == 1 and cells[:2] == ["img_a", "img_b"]:
                continue
            if len(cells) not in (2, 3):
                raise PairsError(f"{path}:{number}: expected img_a,img_b[,label], got {row!r}")
            label = None
            if len(cells) == 3:
                if cells[2] not in ("0", "1"):
                    raise PairsError(f"{path}:{number}: label must be 0 or 1, got {cells[2]!r}")
                label = int(cells[2])
            rows.append((cells[0], cells[1], label))
    if not rows:
        raise PairsError(f"{path}: no pairs")
    if len({r[2] is None for r in rows}) > 1:
        raise PairsError(f"{path}: either every row has a label or none does")
    return rows


def pair_metrics(scores, labels) -> dict:
    """EER, AUC and TAR at :data:`REPORT_FARS` (``None`` when FAR < 1 / impostors)."""
    import numpy as np

    s, lab = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    ok = np.isfinite(s)
    s, lab = s[ok], lab[ok]
    genuine, impostor = int((lab == 1).sum()), int((lab == 0).sum())
    out: dict = {"pairs": int(len(s)), "genuine": genuine, "impostor": impostor}
    if genuine == 0 or impostor == 0:
        out.update({"eer": None, "auc": None, "tar_at_far": {f"{f:g}": None for f in REPORT_FARS}})
        return out
    out["eer"] = round(eer(s, lab), 6)
    out["auc"] = round(auc(s, lab), 6)
    out["tar_at_far"] = {
        f"{f:g}": (round(tar_at_far(s, lab, f), 6) if f * impostor >= 1 else None) for f in REPORT_FARS
    }
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", required=True, help="CSV with img_a,img_b[,label]")
    parser.add_argument("--root", required=True, help="folder the CSV paths are relative to")
    add_stem_arguments(parser)
    parser.add_argument("--far", type=parse_far, default=1e-2, help="decision FAR or 'accuracy'")
    parser.add_argument("--json", metavar="OUT", help="write JSON to OUT ('-' for stdout)")


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.recognize.verify import Verifier

    try:
        rows = read_pairs_csv(args.pairs)
    except OSError as exc:  # a malformed CSV (PairsError) exits 2 in run_cli
        log.error("%s", exc)
        return 2
    root = Path(args.root)
    dream = use_dream(args)
    verifier = Verifier(far=args.far, stem=args.stem)
    sides = {}
    names = sorted({name for a, b, _ in rows for name in (a, b)})
    for i, name in enumerate(names, 1):
        try:
            sides[name] = verifier.describe_image(load_image(root / name))
        except (ImageLoadError, OSError) as exc:
            log.error("%s: %s", name, exc)
            return 2
        if i % 50 == 0:
            log.info("embedded %d/%d images", i, len(names))
    results = [verifier.compare(sides[a], sides[b], dream) for a, b, _ in rows]
    pairs = []
    for (a, b, label), res in zip(rows, results, strict=True):
        item = {
            "img_a": a,
            "img_b": b,
            "score": res.to_json()["score"],
            "accepted": bool(res.result.accepted),
            "bucket": res.bucket,
        }
        if label is not None:
            item["label"] = label
        pairs.append(item)
    payload: dict = {
        "stem": args.stem,
        "dream": dream,
        "operating_point": results[0].operating_point,
        "pairs": pairs,
    }
    if rows[0][2] is not None:
        payload["metrics"] = pair_metrics([r.result.score for r in results], [r[2] for r in rows])
    if emit_json(payload, args.json):
        return 0
    for item in pairs:
        score = "nan" if item["score"] is None else f"{item['score']:.4f}"
        sys.stdout.write(f"{item['img_a']},{item['img_b']},{score},{int(item['accepted'])}\n")
    if "metrics" in payload:
        m = payload["metrics"]
        sys.stdout.write(f"# EER {m['eer']} AUC {m['auc']} TAR@FAR {m['tar_at_far']}\n")
    return 0
