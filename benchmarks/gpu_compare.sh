#!/usr/bin/env bash
# The RGB-vs-raw comparison on real cells, for a machine with a GPU.
#
#   benchmarks/gpu_compare.sh PBC_DIR OUT [PER_CLASS]
#
# Takes the first PER_CLASS images (default 375, i.e. 3,000) of every class folder of
# PBC_DIR, builds them into OUT/pbc.h5 (400×400 Bayer + RGB, 10 % test, FOLDS folds),
# then trains ResNet50 from scratch on every input space (SPACES) with two unseen test
# cameras, and writes OUT/compare/results.md with the device name. Both steps resume when
# run again (the cache is kept, finished cells are not retrained), so a run cut short by
# a time limit continues where it stopped. Environment: EPOCHS (30), FOLDS (5), DEVICE
# (cuda), BATCH (128), JOBS (8), SPACES (rgb, rgb_aug and the raw spaces with their
# *_aug and *_cam twins).
set -euo pipefail
src=${1:?usage: gpu_compare.sh PBC_DIR OUT [PER_CLASS]}
out=${2:?usage: gpu_compare.sh PBC_DIR OUT [PER_CLASS]}
per_class=${3:-375}
mkdir -p "$out"

python - "$src" "$per_class" "$out/pbc.csv" <<'PY'
import csv, sys
from pathlib import Path
src, per_class, target = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(target, "w", newline="") as handle:
    writer = csv.writer(handle)
    writer.writerow(["path", "label"])
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg"))[:per_class]:
            writer.writerow([str(path.resolve()), folder.name])
PY

if [ ! -f "$out/pbc.h5" ]; then
    resume=()
    [ -f "$out/pbc.h5.partial" ] && resume=(--resume)
    rawspace build "$out/pbc.csv" "$out/pbc.h5" --layout bayer --folds "${FOLDS:-5}" \
        --jobs "${JOBS:-8}" -q "${resume[@]}"
fi
rawspace info "$out/pbc.h5" > "$out/cache.txt"
command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$out/device.txt"
spaces=${SPACES:-rgb,rgb_aug,raw_packed,raw_bayer,raw_packed_aug,raw_bayer_aug,raw_packed_cam,raw_bayer_cam}
rawspace compare "$out/pbc.h5" --models resnet50 --spaces "$spaces" --test-cameras 2 \
    --mode full --weights none --epochs "${EPOCHS:-30}" --folds "${FOLDS:-5}" \
    --device "${DEVICE:-cuda}" --batch-size "${BATCH:-128}" --lr 2e-3 --label-smoothing 0.1 \
    --out "$out/compare"
