#!/usr/bin/env bash
# Computes the shipped results in public/artifacts/ with the `skipscape` command line.
# Every step is resumable: run this script again (after a kill, or in a later session)
# and each step continues from what is on disk. Steps run at low priority (nice) and
# two at a time, one per core. Then `node scripts/make-manifest.mjs` lists and hashes
# what exists.
#
#   scripts/make-artifacts.sh train     # the trained networks (histories + per-epoch checkpoints)
#   scripts/make-artifacts.sh surfaces  # loss surfaces and 1-D curves
#   scripts/make-artifacts.sh hessian   # Hessian maps and trajectories (ResNet-56)
set -euo pipefail
cd "$(dirname "$0")/.."
A=public/artifacts
sk() { nice -n 10 node bin/skipscape.mjs "$@"; }

# name model skip-flag epochs limit
train_run() {
  local name=$1 model=$2 skip=$3 epochs=$4 limit=$5
  local dir=$A/runs/$name resume=()
  [ -f "$dir/history.json" ] && resume=(--resume)
  sk train --model "$model" "$skip" --dataset fashion-mnist --limit "$limit" \
    --epochs "$epochs" --workers 1 --seed 0 --out "$dir" "${resume[@]}"
}

# Li et al.'s 2-D surface: 51×51 on [-1, 1]², filter-normalised, over the first 500 training images.
surface() {
  local name=$1 epochs=$2 resume=()
  local ckpt; ckpt=$(printf '%s/runs/%s/epoch-%03d.safetensors' "$A" "$name" "$epochs")
  [ -f "$A/surfaces/$name.json" ] && resume=(--resume)
  mkdir -p "$A/surfaces"
  sk landscape --checkpoint "$ckpt" --grid -1:1:51,-1:1:51 --norm filter --subset 500 --seed 1 \
    --out "$A/surfaces/$name.json" --save-directions "$A/surfaces/$name.directions.safetensors" "${resume[@]}"
}

curve() {
  local name=$1 epochs=$2 resume=()
  local ckpt; ckpt=$(printf '%s/runs/%s/epoch-%03d.safetensors' "$A" "$name" "$epochs")
  [ -f "$A/surfaces/$name.curve.json" ] && resume=(--resume)
  mkdir -p "$A/surfaces"
  sk landscape --checkpoint "$ckpt" --grid -1:1:101 --norm filter --subset 500 --seed 1 \
    --out "$A/surfaces/$name.curve.json" "${resume[@]}"
}

case "${1:-train}" in
  train)
    (train_run resnet20-skip resnet20 --skip 6 6000; train_run resnet56-skip resnet56 --skip 4 6000) &
    (train_run resnet20-noskip resnet20 --no-skip 6 6000; train_run resnet56-noskip resnet56 --no-skip 4 6000) &
    wait
    (train_run bmenet32-skip bmenet32 --skip 6 3000) &
    (train_run bmenet32-noskip bmenet32 --no-skip 6 3000) &
    wait
    ;;
  surfaces)
    (curve resnet20-skip 6; surface resnet20-skip 6; surface resnet56-skip 4) &
    (curve resnet20-noskip 6; surface resnet20-noskip 6; surface resnet56-noskip 4) &
    wait
    ;;
  *)
    echo "usage: $0 train|surfaces" >&2
    exit 2
    ;;
esac
