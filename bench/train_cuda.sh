#!/usr/bin/env bash
# One short CUDA check of the training engine and ScaleFace (for a lent GPU machine).
#   bash bench/train_cuda.sh [OUT_DIR]        (python: $PYTHON, default python3)
# 1. throughput with AMP float16 for the three variants, 640² crops, batch 8 (images/s, peak GPU memory);
# 2. ResNet-50 with bfloat16 autocast;
# 3. the CLI path on CUDA: train 30 steps, stop, --resume to 40 (GradScaler + CUDA RNG restore),
#    then load the checkpoint as a detector on the GPU.
set -euo pipefail
OUT=${1:-${OUT:-/tmp/train_cuda}}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi -L || true
$PY -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, torch.cuda.get_device_name())"
$PY bench/train.py --device cuda --size 640 --batch-size 8 --steps 20 --warmup 5 --json "$OUT/bench_cuda_fp16.json"
$PY bench/train.py --device cuda --size 640 --batch-size 8 --steps 20 --warmup 5 --amp-dtype bfloat16 \
    --variants resnet50 --json "$OUT/bench_cuda_bf16.json"
RUN=$(mktemp -d)
COMMON=(--out "$RUN" --device cuda --batch-size 8 --set task.data.source=synthetic --set task.data.synthetic_size=640
        --set task.data.crop_size=640 --set task.model.backbone=mobilenet_v2 --set log_every=10 --set checkpoint_every=20
        --set task.eval_images=4 --set eval_every=20 --set num_workers=4)
$PY main.py train scaleface "${COMMON[@]}" --max-steps 30 2>&1 | tail -n 6
$PY main.py train scaleface "${COMMON[@]}" --max-steps 40 --resume 2>&1 | tail -n 4
$PY - "$RUN/last.pt" <<'PYEOF'
import sys, time, torch
from core.detect.scaleface import ScaleFaceDetector
from core.train.synthetic import SyntheticFaces
det = ScaleFaceDetector(sys.argv[1], device=torch.device("cuda"), min_score=0.3)
image = SyntheticFaces(1, 640, seed=5).load(0)[0]
det.detect(image); torch.cuda.synchronize(); t = time.perf_counter()
for _ in range(10):
    result, maps = det.detect_with_maps(image)
torch.cuda.synchronize()
print(f"detector on cuda: {len(result.faces)} faces, {(time.perf_counter() - t) * 100:.1f} ms/image (640², mobilenet_v2)",
      {k: v.values.shape for k, v in maps.items()})
PYEOF
cp "$RUN/metrics.jsonl" "$OUT/metrics_cuda.jsonl"
