"""``python main.py cfp-eval --root CFP_ROOT --protocol FP|FF [--folds 1,2,...] [--stem S] [--dream on|off|auto] [--json OUT|-]``.

Per-fold accuracy (threshold from the other evaluated folds; a single fold
uses the threshold shipped with the stem's DREAM block or calibration), EER
and AUC, then mean ± std. Stem features are extracted once and cached
(``--cache``, default the user data folder); the first run over CFP takes
minutes on a CPU, and a stem other than face-api's embeds once more. JSON::

    {"protocol", "stem", "dream", "folds": [{"fold", "accuracy", "eer", "auc", ...}],
     "accuracy_mean", "accuracy_std", "eer_mean", "auc_mean"}

Exit codes: 0 done, 2 bad arguments or CFP files, 1 missing model weights.
"""

from __future__ import annotations

import argparse
import logging
import sys

from core.cfp.protocol import CfpError, CfpProtocol, parse_folds
from core.cli.output import emit_json
from core.cli.verify import add_stem_arguments, use_dream
from core.progress import Progress, relay

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, help="CFP root (Data/, Protocol/)")
    parser.add_argument("--protocol", required=True, type=str.upper, choices=["FP", "FF"])
    parser.add_argument("--folds", default=None, help="fold list, e.g. 1,2,3 or 1-9 (default: all present)")
    add_stem_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the result as JSON to OUT ('-' for stdout)")
    parser.add_argument("--cache", default=None, help="feature cache folder (default: user data folder)")


def _extract(cfp, keys, cache):
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.cfp.features import extract_features

    last = 0

    def log_progress(progress: Progress) -> None:
        nonlocal last
        if progress.done - last >= 200 or progress.done == progress.total:
            log.info("features %d/%d", progress.done, progress.total)
            last = progress.done

    return relay(extract_features(cfp.root, keys, cache), log_progress)


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.cfp.evaluate import evaluate_protocol, fold_keys

    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.cfp.stem_features import with_stem
    from core.recognize.stem_calibration import mapper_for_stem

    try:
        cfp = CfpProtocol.open(args.root)
        present = cfp.folds(args.protocol)
        folds = parse_folds(args.folds) if args.folds else present
        missing = [k for k in folds if k not in present]
        if missing or not folds:
            raise CfpError(f"fold(s) {missing or folds} not under {args.root}/Protocol/Split/{args.protocol}")
        table = _extract(cfp, fold_keys(cfp, (args.protocol,), folds), args.cache)
        table = with_stem(cfp.root, table, args.stem, args.cache)
        dream = use_dream(args)
        mapper = mapper_for_stem(args.stem)
        if dream and not mapper.has_dream:
            raise CfpError(f"the {args.stem} stem has no DREAM block: use --dream off")
    except (OSError, ValueError) as exc:  # CfpError is a ValueError
        log.error("%s", exc)
        return 2
    result = evaluate_protocol(cfp, table, args.protocol, folds, mapper, use_dream=dream)
    for note in result.notes:
        log.warning("%s", note)
    if emit_json({**result.to_json(), "stem": args.stem}, args.json):
        return 0
    out = sys.stdout
    out.write(f"CFP-{result.protocol}  stem {args.stem}  DREAM {'on' if result.dream else 'off'}\n")
    out.write("fold  accuracy   EER     AUC     threshold\n")
    for f in result.folds:
        out.write(
            f"{f.fold:4d}  {100 * f.accuracy:6.2f}%  {100 * f.eer:6.2f}%  {f.auc:.4f}  {f.threshold:.4f} ({f.threshold_source})\n"
        )
    out.write(
        f"mean  {100 * result.accuracy_mean:6.2f}% ± {100 * result.accuracy_std:.2f}  "
        f"EER {100 * result.eer_mean:.2f}%  AUC {result.auc_mean:.4f}\n"
    )
    return 0
