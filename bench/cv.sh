#!/usr/bin/env bash
# Cross-validated sector tagging: trains the four models that hold out folds 1-4 (the
# shipped model holds out fold 0), then scores every document of the corpora with the model
# that never read it (`eval --cv-models`). Extra arguments go to eval (e.g. --brief).
#   bash bench/cv.sh [CORPORA] [eval args...]
set -euo pipefail
cd "$(dirname "$0")/.."
corpora=${1:-../shared/corpora}
shift || true
models=${CV_MODELS:-target/cv-models}
mkdir -p "$models"
cargo build --release -p sectorwire-bench --bin train --bin eval
for k in 1 2 3 4; do
    if [ ! -s "$models/model-fold$k.tsv" ] || [ "${CV_RETRAIN:-0}" = 1 ]; then
        target/release/train "$corpora" --held-out "$k" --out "$models/model-fold$k.tsv"
    fi
done
target/release/eval "$corpora" --cv-models "$models" "$@"
