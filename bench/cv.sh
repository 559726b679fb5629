#!/usr/bin/env bash
# Cross-validated sector tagging: trains the four models that hold out folds 1-4 (the
# shipped model holds out fold 0), then scores every document of the corpora with the model
# that never read it (`eval --cv-models`). Extra arguments go to eval (e.g. --brief).
#   bash bench/cv.sh [CORPORA] [eval args...]
# TRAIN_ARGS passes options to train (e.g. TRAIN_ARGS='--head-min 20' with its own
# CV_MODELS dir); then fold 0's model is trained too instead of using the shipped one.
set -euo pipefail
cd "$(dirname "$0")/.."
corpora=${1:-../shared/corpora}
shift || true
models=${CV_MODELS:-target/cv-models}
mkdir -p "$models"
cargo build --release -p sectorwire-bench --bin train --bin eval
folds="1 2 3 4"
if [ -n "${TRAIN_ARGS:-}" ]; then folds="0 $folds"; fi
for k in $folds; do
    if [ ! -s "$models/model-fold$k.tsv" ] || [ "${CV_RETRAIN:-0}" = 1 ]; then
        # shellcheck disable=SC2086 # TRAIN_ARGS is a list of options
        target/release/train "$corpora" --held-out "$k" --out "$models/model-fold$k.tsv" ${TRAIN_ARGS:-}
    fi
done
target/release/eval "$corpora" --cv-models "$models" "$@"
