"""Peer detectors of bench/peers (onnxruntime, bench only): our decoders against each model.

UltraFace's ONNX carries its own prior decoding, so our priors and box coder
are checked against it; RetinaFace's network (written from the published
design) is checked against its own ONNX export and for anchor counts; every
peer must find faces on a few wider_val_416_dev images (AP floors far under
the measured values, so a wrong colour order, anchor table or stride breaks
them: RetinaFace with Pytorch_Retinaface's anchors instead of this
repository's scores hard AP 0.02, with LeakyReLU 0.03, measured).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.peers import PEERS, create_peer, peers_missing

LIMIT = 10
# measured on the first 10 images of wider_val_416_dev (official mode, score floor 0.05)
HARD_AP = {"ultraface-rfb320": 0.299, "yunet-n": 0.421, "retinaface-mnet": 0.329}


def test_peers_missing_explains_itself(tmp_path):
    assert "absent" in peers_missing(tmp_path / "no_peers_here")


def test_unknown_peer_is_refused():
    with pytest.raises(ValueError, match="unknown peer"):
        create_peer("mtcnn")


def test_ultraface_prior_count_matches_the_published_feature_maps():
    from bench.peers.ultraface import priors

    assert len(priors(320, 240)) == 4420  # the ONNX outputs' length
    assert len(priors(640, 480)) == 17640
    p = priors(320, 240)
    # 240/32 = 7.5 -> 8 rows: centres (j + 0.5) / 8, i.e. every 30 px, as in fd_config.py
    level3 = p[40 * 30 * 3 + 20 * 15 * 2 :][: 10 * 8 * 2]
    np.testing.assert_allclose(np.unique(level3[:, 1]), (np.arange(8) + 0.5) / 8, rtol=1e-6)


def test_yunet_grid_puts_cells_at_their_corner():
    from bench.peers.yunet import decode_level

    # one face at cell (row 1, col 2) of a 64-wide stride-8 map, zero offsets: box centred at (16, 8)
    n = (64 // 8) * 2
    cls, obj = np.zeros(n), np.zeros(n)
    cls[8 + 2] = obj[8 + 2] = 0.9
    out = decode_level(cls, obj, np.zeros((n, 4)), np.zeros((n, 10)), 8, 64, 0.5)
    np.testing.assert_allclose(out.boxes, [[12.0, 4.0, 20.0, 12.0]])
    np.testing.assert_allclose(out.scores, [0.81])
    np.testing.assert_allclose(out.landmarks[0], np.tile([16.0, 8.0], (5, 1)))


@pytest.mark.shared_data
def test_ultraface_our_decoding_equals_the_onnx_files_own():
    pytest.importorskip("onnxruntime")
    import onnx

    from bench.peers import PEERS_DIR
    from bench.peers.base import ort_session
    from bench.peers.ultraface import FOLDER, MODELS, UltraFace, decode_boxes, extract, raw_locations_name

    detector = UltraFace("ultraface-rfb320", PEERS_DIR, threads=1)
    model = onnx.load(str(PEERS_DIR / FOLDER / MODELS["ultraface-rfb320"][0]))
    session = ort_session(extract(model, ["boxes", raw_locations_name(model)]), 1)
    rng = np.random.default_rng(1)
    blob, _ = detector.preprocess(rng.integers(0, 255, (300, 500, 3), dtype=np.uint8))
    baked, raw = session.run(None, {"input": blob})
    ours = decode_boxes(raw[0].astype(np.float64), detector.priors)
    np.testing.assert_allclose(ours, baked[0], atol=1e-5)


@pytest.mark.shared_data
def test_retinaface_export_matches_the_network_and_anchor_count():
    pytest.importorskip("onnxruntime")
    import torch

    from bench.peers import PEERS_DIR
    from bench.peers.retinaface import FOLDER, WEIGHTS, RetinaFace, load_network, priors

    detector = RetinaFace(PEERS_DIR, threads=1)
    net = load_network(PEERS_DIR / FOLDER / WEIGHTS)
    image = np.random.default_rng(2).integers(0, 255, (100, 150, 3), dtype=np.uint8)  # not /32
    blob, _ = detector.preprocess(image)
    with torch.no_grad():
        loc, conf, _ = net(torch.from_numpy(blob))
    ort_loc, ort_conf, _ = detector.session.run(None, {"input": blob})
    assert ort_loc.shape[1] == len(priors(150, 100)) == 2 * (13 * 19 + 7 * 10 + 4 * 5)
    np.testing.assert_allclose(ort_loc, loc.numpy(), atol=1e-3)
    np.testing.assert_allclose(ort_conf, conf.numpy(), atol=1e-4)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", sorted(HARD_AP))
def test_peer_finds_faces_on_the_416_dev_subset(name):
    pytest.importorskip("onnxruntime")
    from bench.wider_ap import DATA, SETTINGS, dev_set, run_split
    from core.detect.protocol import Detector
    from core.wider.evaluation import evaluate

    assert name in PEERS
    detector = create_peer(name, threads=2)
    assert isinstance(detector, Detector)
    gt, dataset = dev_set(DATA / "wider_val_416_dev", limit=LIMIT)
    split = run_split(detector, dataset, min_score=0.05)
    aps = evaluate(gt, split.predictions, settings=SETTINGS, breakdown=False).ap()
    assert aps["hard"] > 0.6 * HARD_AP[name], aps
    assert aps["easy"] > 0.5, aps
    face = next(f for f in detector.detect(dataset.load_image(0)).faces)
    assert face.landmarks is None or len(face.landmarks) == 5
