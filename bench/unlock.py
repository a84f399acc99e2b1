"""Face unlock: per-stage latency at 640×480, time to decision, and TAR / false accepts on identities_dev.

    .venv/bin/python bench/unlock.py [--stems faceapi faceres] [--threads 1 2] [--sides 256 320 416]
        [--frames 60] [--trials 5] [--far 1e-2 1e-3 1e-4] [--no-identities] [--device cpu|cuda] [--json OUT]

Every measurement runs once per ``--stems`` entry (each with its own DREAM
block), the stems alternating inside each configuration so they share the
machine's load.

**Latency.** A synthetic 640×480 webcam clip of a bundled sample face
(tests/core/unlock/unlock_videos.py: small moves and scale changes) is
enrolled, then ``--frames`` frames are verified through
:class:`core.unlock.session.UnlockSession` after ``--warmup`` frames; p50 / p95
of each stage (detect, landmarks, embed, match, total) per torch thread count
and CenterFace working side. **Time to decision**: fresh sessions on the same
clip (3 of 5 within 1.5 s): processing time from the first frame with a usable
face to the unlock, and the live estimate for a 30 fps camera where a frame is
processed when it has arrived and the previous one is done.

**identities_dev** (``../shared/data/identities_dev``, skipped when absent):
each face_recognition person (train folder, 1-2 photos) is enrolled from a
stream of those photos framed as a webcam would (a 640×480 crop centred on the
face, face ≈ 40 % of the frame height) with jitter (the enrolment gates apply); probes are the other single-face photos of that person
(genuine) and every single-face photo of people not enrolled or of the other
enrolled people (impostor). Group photos are left out (no per-face labels) and
so are files identical to a train photo. Per FAR: TAR per frame, false
accepts (impostor probe × template pairs at or above the threshold), and the
session decision on a 10-frame clip of each probe.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from bench.machine import LoadWatch  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.recognize.stems import STEMS, UNLOCK_STEM  # noqa: E402
from core.unlock.calibrate import load_calibration  # noqa: E402
from core.unlock.decision import DecisionRule, UnlockState  # noqa: E402
from core.unlock.latency import latency_summary  # noqa: E402
from core.unlock.pipeline import UnlockPipeline  # noqa: E402
from core.unlock.quality import VERIFY_GATES  # noqa: E402
from core.unlock.session import STAGES, Enroller, UnlockSession  # noqa: E402
from tests.core.unlock.unlock_videos import frames as sample_frames  # noqa: E402
from tests.core.unlock.unlock_videos import jitter, webcam_frame  # noqa: E402

SIZE = (640, 480)
LIVE_FPS = 30.0
IDENTITIES = SHARED_DIR / "data" / "identities_dev"


# --- latency --------------------------------------------------------------------------
def enrol_frames(pipeline: UnlockPipeline, images: list[np.ndarray], name: str, n: int = 5):
    enroller = Enroller(pipeline, n_frames=n, min_gap_s=0.0)
    outcomes = []
    for i, img in enumerate(images):
        outcomes.append(enroller.process(img, i / 10.0))
        if enroller.done:
            return enroller.template(name), outcomes
    return None, outcomes


def live_decision_ms(per_frame_ms: list[float], fps: float = LIVE_FPS) -> float:
    """Decision time on a camera at ``fps`` with the newest frame winning: frames arrive every
    ``1000 / fps`` ms; when a frame is done, the newest frame that has arrived is processed next, or
    the next one to arrive when none is newer. Returns the end of the last frame, from the first's arrival."""
    interval = 1e3 / fps
    arrival, done = 0.0, 0.0
    for i, ms in enumerate(per_frame_ms):
        if i:
            nxt = arrival + interval
            arrival = nxt if done < nxt else interval * np.floor(done / interval)
        done = max(done, arrival) + ms
    return done


def bench_latency(
    stem: str,
    threads: int,
    side: int,
    tracking: str,
    n_frames: int,
    warmup: int,
    trials: int,
    far: float,
    cal,
    k: int = 3,
) -> dict:
    pipeline = UnlockPipeline(max_side=side, threads=threads, stem=stem).load()
    pipeline.warmup(SIZE)
    template, _ = enrol_frames(pipeline, sample_frames("ann", 15, seed=1), "ann")
    assert template is not None, "the sample face failed enrolment"
    op = cal.at_far(far, pipeline.mode)
    clip = sample_frames("ann", n_frames + warmup, seed=11, brightness=0.9)
    session_args = {"tracking": tracking != "off", "follow": tracking == "on"}
    session = UnlockSession(pipeline, [template], op, DecisionRule(k=k), **session_args)
    outs = [session.process(img, i / LIVE_FPS) for i, img in enumerate(clip)]
    summary = latency_summary([o.ms for o in outs], warmup)
    decisions, lives = [], []
    for t in range(trials):
        session = UnlockSession(pipeline, [template], op, DecisionRule(k=k), **session_args)
        clip = sample_frames("ann", 8, seed=100 + t)
        per_frame, start = [], time.perf_counter()
        for i, img in enumerate(clip):
            o = session.process(img, i / LIVE_FPS)
            per_frame.append(o.ms["total"])
            if o.state == UnlockState.UNLOCKED:
                decisions.append((time.perf_counter() - start) * 1e3)
                lives.append(live_decision_ms(per_frame))
                break
    return {
        "stem": stem,
        "threads": threads,
        "working_side": side,
        "tracking": tracking,
        "k": k,
        "frames": summary.frames,
        "p50": {k: round(summary.p50[k], 1) for k in STAGES},
        "p95": {k: round(summary.p95[k], 1) for k in STAGES},
        "accepted": int(sum(o.accepted for o in outs[warmup:])),
        "followed": int(sum(o.followed for o in outs[warmup:])),
        "decision_ms": round(float(np.median(decisions)), 1) if decisions else None,
        "decision_live30_ms": round(float(np.median(lives)), 1) if lives else None,
        "unlocked_trials": f"{len(decisions)}/{trials}",
    }


# --- identities_dev -----------------------------------------------------------------------
def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def identity_sets() -> tuple[dict[str, list[Path]], dict[str, list[Path]], list[str]]:
    """``(train {person: photos}, probes {label: photos}, notes)``; label = person or ``"other:<name>"``."""
    fr = IDENTITIES / "face_recognition" / "examples"
    train = {
        p.name: sorted(x for x in p.iterdir() if x.is_file())
        for p in sorted((fr / "knn_examples" / "train").iterdir())
    }
    train_digests = {digest(x) for photos in train.values() for x in photos}
    group = {"obama_and_biden.jpg", "kit_with_rose.jpg", "two_people.jpg"}
    owner = {
        "alex_lacamoire1.jpg": "alex_lacamoire",
        "alex-lacamoire.png": "alex_lacamoire",
        "johnsnow_test1.jpg": "kit_harington",
        "obama1.jpg": "obama",
        "obama-240p.jpg": "obama",
        "obama-480p.jpg": "obama",
        "obama-720p.jpg": "obama",
        "obama-1080p.jpg": "obama",
        "obama_small.jpg": "obama",
        "obama.jpg": "obama",
        "obama2.jpg": "obama",
        "biden.jpg": "biden",
        "lin-manuel-miranda.png": "other:lin_manuel_miranda",
    }
    candidates = sorted(fr.glob("*.*")) + sorted((fr / "knn_examples" / "test").glob("*.*"))
    probes: dict[str, list[Path]] = {}
    notes = []
    for path in candidates:
        if path.name in group:
            notes.append(f"left out (group photo): {path.name}")
            continue
        if path.name not in owner:
            continue
        if digest(path) in train_digests:
            notes.append(f"left out (same file as a train photo): {path.name}")
            continue
        probes.setdefault(owner[path.name], []).append(path)
    fp = IDENTITIES / "facenet_pytorch" / "data"
    for folder in ("test_images", "test_images_aligned"):
        for path in sorted((fp / folder).glob("*/1.*")):
            probes.setdefault(f"other:{path.parent.name}", []).append(path)
    for path in sorted((IDENTITIES / "lfw_pairs" / "data" / "images").glob("*.jpg")):
        probes.setdefault("other:" + path.stem.rsplit("_", 1)[0].lower(), []).append(path)
    return train, probes, notes


def bench_identities(
    stem: str, threads: int, side: int, fars: list[float], cal, clip_frames: int = 10
) -> dict:
    pipeline = UnlockPipeline(max_side=side, threads=threads, stem=stem).load()
    train, probes, notes = identity_sets()
    from core.detect.registry import create_detector

    finder = create_detector("centerface", max_side=1280, min_score=0.5)
    framed = {}

    def frame_of(path: Path) -> np.ndarray:
        if path not in framed:
            framed[path] = webcam_frame(load_image(path), finder)
        return framed[path]

    templates, enrol_notes = [], []
    for person, photos in train.items():
        stream = [jitter(frame_of(photos[k % len(photos)]), k, 1) for k in range(30)]
        template, outs = enrol_frames(pipeline, stream, person)
        if template is None:
            reasons = sorted({r for o in outs for r in o.reasons})
            enrol_notes.append(f"{person}: enrolment failed ({'; '.join(reasons)[:200]})")
        else:
            templates.append(template)
            enrol_notes.append(f"{person}: enrolled from {len(photos)} photo(s), {len(outs)} frames offered")
    names = [t.name for t in templates]
    matrix = np.stack([t.mean for t in templates])
    rows = []  # (label, path, scores (U,) or None, reasons)
    for label, paths in probes.items():
        for path in paths:
            analysis = pipeline.analyze(frame_of(path), VERIFY_GATES)
            emb = analysis.embedding
            rows.append((label, path, None if emb is None else matrix @ emb, analysis.quality.reasons))
    out = {"templates": names, "enrolment": enrol_notes, "notes": notes, "fars": []}
    unscored = [f"{p.name}: {'; '.join(r)}" for _, p, s, r in rows if s is None]
    imp_scores = [
        (float(v), f"{p.name} as {n}")
        for label, p, sc, _ in rows
        if sc is not None
        for n, v in zip(names, sc, strict=True)
        if n != label
    ]
    gen_scores = [
        float(sc[names.index(label)]) for label, _, sc, _ in rows if sc is not None and label in names
    ]
    out["max_impostor"] = max(imp_scores) if imp_scores else None
    out["min_genuine"] = min(gen_scores) if gen_scores else None
    out["unscored_probes"] = unscored
    for far in fars:
        op = cal.at_far(far, pipeline.mode)
        gen_total = gen_acc = imp_pairs = false_acc = 0
        fa_list, misses = [], []
        for label, path, scores, _ in rows:
            if scores is None:
                if label in names:
                    gen_total += 1  # a genuine probe the gates refused counts as a miss
                continue
            for name, s in zip(names, scores, strict=True):
                if name == label:
                    gen_total += 1
                    gen_acc += int(s >= op.threshold)
                    if s < op.threshold:
                        misses.append(f"{path.name} ({s:.3f})")
                else:
                    imp_pairs += 1
                    if s >= op.threshold:
                        false_acc += 1
                        fa_list.append(f"{path.name} as {name} ({s:.3f})")
        # decision level: a 10-frame jittered clip of each probe through a fresh session (all templates)
        unlock_gen = unlock_imp = clips_gen = clips_imp = 0
        for label, path, _, _ in rows:
            base = frame_of(path)
            session = UnlockSession(pipeline, templates, op, DecisionRule())
            final = None
            for k in range(clip_frames):
                o = session.process(jitter(base, k, 7), k / LIVE_FPS)
                if o.state == UnlockState.UNLOCKED:
                    final = o.unlocked_user
                    break
            if label in names:
                clips_gen += 1
                unlock_gen += int(final == label)
            else:
                clips_imp += 1
            if final is not None and final != label:
                unlock_imp += 1
        out["fars"].append(
            {
                "far": far,
                "threshold": round(op.threshold, 4),
                "calibration_impostors": op.impostors,
                "tar_frame": f"{gen_acc}/{gen_total}",
                "false_accepts": f"{false_acc}/{imp_pairs}",
                "false_accept_pairs": fa_list,
                "genuine_misses": misses,
                "unlocked_genuine_clips": f"{unlock_gen}/{clips_gen}",
                "wrong_unlocks": f"{unlock_imp}/{len(rows)}",
            }
        )
    out["probe_scores"] = {
        f"{label}/{p.name}": None
        if s is None
        else {n: round(float(v), 3) for n, v in zip(names, s, strict=True)}
        for label, p, s, _ in rows
    }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stems", nargs="+", choices=list(STEMS), default=[UNLOCK_STEM])
    parser.add_argument("--threads", nargs="+", type=int, default=[2])
    parser.add_argument("--sides", nargs="+", type=int, default=[256])
    parser.add_argument(
        "--tracking",
        nargs="+",
        choices=["on", "near", "off"],
        default=["on", "off"],
        help="on: the session's default (follow the landmarks, detect near the last face when that "
        "fails); near: detect near the last face on every frame; off: detect the whole frame",
    )
    parser.add_argument(
        "--k", nargs="+", type=int, default=[3], help="accepts needed for the decision timing"
    )
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--far", nargs="+", type=float, default=[1e-2, 1e-3, 1e-4])
    parser.add_argument("--no-identities", action="store_true")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ["FACESCOPE_DEVICE"] = args.device
    load = LoadWatch()
    cal = load_calibration()
    rows: list[dict] = []
    if not args.no_latency:
        head = f"{'stem':>7} {'threads':>7} {'side':>4} {'track':>5} {'k':>2} | "
        print(head + " | ".join(f"{s:>13}" for s in STAGES) + " | decision  live@30fps")
        print(" " * len(head) + " | ".join(f"{'p50/p95 ms':>13}" for _ in STAGES) + " |   ms        ms")
        for threads in args.threads:
            for side in args.sides:
                for tracking in args.tracking:
                    for k, stem in itertools.product(args.k, args.stems):
                        row = bench_latency(
                            stem,
                            threads,
                            side,
                            tracking,
                            args.frames,
                            args.warmup,
                            args.trials,
                            1e-3,
                            cal,
                            k,
                        )
                        row["device"] = args.device
                        rows.append(row)
                        cells = " | ".join(f"{row['p50'][s]:6.1f}/{row['p95'][s]:6.1f}" for s in STAGES)
                        print(
                            f"{stem:>7} {threads:>7} {side:>4} {tracking:>5} {k:>2} | {cells} | {row['decision_ms']!s:>7}  "
                            f"{row['decision_live30_ms']!s:>7}  (unlocked {row['unlocked_trials']}, "
                            f"{row['accepted']}/{row['frames']} frames accepted, {row['followed']} followed)",
                            flush=True,
                        )
    if not args.no_identities:
        if not IDENTITIES.is_dir():
            print(f"identities_dev: skipped ({IDENTITIES} is absent)")
        for stem in args.stems if IDENTITIES.is_dir() else []:
            res = bench_identities(stem, args.threads[-1], args.sides[0], args.far, cal)
            res["kind"] = "identities_dev"
            res["stem"] = stem
            rows.append(res)
            print(f"\nidentities_dev, stem {stem} (+ DREAM): templates {', '.join(res['templates'])}")
            for line in res["enrolment"] + res["notes"]:
                print(f"  {line}")
            for line in res["unscored_probes"]:
                print(f"  not scored (gates): {line}")
            if res["max_impostor"]:
                print(
                    f"  highest impostor score {res['max_impostor'][0]:.3f} ({res['max_impostor'][1]}), "
                    f"lowest genuine {res['min_genuine']:.3f}"
                )
            print(
                f"{'FAR':>7} {'threshold':>9} {'TAR/frame':>10} {'false acc.':>11} {'unlocks(gen)':>13} {'wrong unlocks':>14}"
            )
            for f in res["fars"]:
                print(
                    f"{f['far']:>7g} {f['threshold']:>9.4f} {f['tar_frame']:>10} {f['false_accepts']:>11} "
                    f"{f['unlocked_genuine_clips']:>13} {f['wrong_unlocks']:>14}  {'; '.join(f['false_accept_pairs'])}"
                    f"{'  missed: ' + ', '.join(f['genuine_misses']) if f['genuine_misses'] else ''}"
                )
    print(load.footer(f"{args.device}, 640x480 frames"))
    load.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
