#!/usr/bin/env bash
# Computes the shipped results in public/artifacts/ with the `skipscape` command line.
# Every step is resumable: run this script again (after a kill, or in a later session)
# and each step continues from what is on disk. Steps run at low priority (nice) and
# two at a time, one per core. Then `node scripts/make-manifest.mjs` lists and hashes
# what exists.
#
#   scripts/make-artifacts.sh train [MODEL...]     # trained networks: histories, per-epoch checkpoints
#   scripts/make-artifacts.sh surfaces [MODEL...]  # loss surfaces, then 1-D curves
#   scripts/make-artifacts.sh curves [MODEL...]    # only the 1-D curves
#   scripts/make-artifacts.sh hessian [MODEL...]   # trajectories and Hessian eigenvalues
#   scripts/make-artifacts.sh planes [MODEL...]    # the loss over each trajectory's PCA plane
#   scripts/make-artifacts.sh responses [MODEL...] # He et al.'s per-block signals, epoch 0 and each checkpoint
#   scripts/make-artifacts.sh depth                # Philipp et al.'s GSC lab and the effective-depth runs
#   scripts/make-artifacts.sh paths [MODEL...]     # gradient per path length (skips) and lesion studies
#   scripts/make-artifacts.sh prune                # archive checkpoints not shipped (see below)
#   scripts/make-artifacts.sh signals              # the signal figures' default states (seconds)
#
# VARIANTS=noskip runs a step for one network of each pair (default: skip noskip, one per core).
# WORKERS=2 splits each training batch over two wasm instances: ResNet-110 at batch 128 does not
# fit one instance's 4 GB heap (it aborts), so it trains with WORKERS=2 (BN statistics per 64-image half).
#
# The shipped runs were trained before the Winograd kernel (src/compute/winograd) existed: to
# reproduce their checkpoints bit for bit (as the per-epoch responses of ResNet-56 were, 2026-12-07),
# train with SKIPSCAPE_WINOGRAD=0; the kernel rounds differently (within 1e-5 of tfjs), so with it
# the same recipe gives other, not bit-identical, weights.
#
# RUNS_DIR=.cache/runs scripts/make-artifacts.sh train bmenet32 trains into another folder, so
# the site (which checks every shipped file's sha256) still builds while a run is under way;
# copy the finished run into public/artifacts/runs/ before `make-manifest`.
set -euo pipefail
cd "$(dirname "$0")/.."
A=public/artifacts
VARIANTS=${VARIANTS:-skip noskip}
# SKIPSCAPE=path/to/cli.mjs pins a built bundle, so editing src/ during a long run cannot change it.
sk() { nice -n "${NICE:-10}" node "${SKIPSCAPE:-bin/skipscape.mjs}" "$@"; }

# name model skip-flag epochs limit lr batch
train_run() {
  local name=$1 model=$2 skip=$3 epochs=$4 limit=$5 lr=$6 batch=$7
  local dir=${RUNS_DIR:-$A/runs}/$name resume=()
  [ -f "$dir/history.json" ] && resume=(--resume)
  sk train --model "$model" "$skip" --dataset fashion-mnist --limit "$limit" --lr "$lr" --batch "$batch" \
    --epochs "$epochs" --workers "${WORKERS:-1}" --seed 0 --out "$dir" "${resume[@]}"
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

# Each run's length in epochs; its last checkpoint is θ* of the surfaces and Hessian maps.
final_epoch() {
  case $1 in
    resnet20) echo 16 ;;
    resnet56) echo 16 ;;
    resnet110) echo 16 ;;
    bmenet32) echo 6 ;;
    *) echo "no run for $1" >&2; return 2 ;;
  esac
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
    # scripts/make-artifacts.sh train [resnet20] [resnet56] [resnet110] [bmenet32]
    shift
    for model in "${@:-resnet20 resnet56 bmenet32}"; do
      # ResNets: Li et al.'s recipe (lr 0.1, batch 128) on half the subset. BMEnet-32: the
      # lecture's six epochs; it has no BN after its first conv and a 2048x1000 dense layer,
      # and diverges at lr 0.1 (DLStudio trains it at 1e-3 with batch 4), so lr 0.01, batch 64.
      # Sizes are what two shared CPU cores finish in a session: scale up --limit for more.
      epochs=$(final_epoch "$model")
      case $model in
        resnet20 | resnet56 | resnet110) limit=6000 lr=0.1 batch=128 ;;
        bmenet32) limit=12000 lr=0.01 batch=64 ;;
      esac
      for v in $VARIANTS; do
        flag=--skip
        [ "$v" = noskip ] && flag=--no-skip
        train_run "$model-$v" "$model" $flag $epochs $limit $lr $batch &
      done
      wait
    done
    ;;
  surfaces)
    # scripts/make-artifacts.sh surfaces [resnet20] [resnet56]
    shift
    for model in "${@:-resnet20 resnet56}"; do
      epochs=$(final_epoch "$model")
      for v in $VARIANTS; do
        (surface "$model-$v" $epochs; curve "$model-$v" $epochs) &
      done
      wait
    done
    ;;
  curves)
    shift
    for model in "${@:-resnet20 resnet56}"; do
      epochs=$(final_epoch "$model")
      for v in $VARIANTS; do curve "$model-$v" $epochs & done
      wait
    done
    ;;
  hessian)
    # scripts/make-artifacts.sh hessian [MODEL...]: the PCA trajectory of each run, the Hessian's
    # extreme eigenvalues at θ*, then their map over a coarse 5×5 plane (resumable: on two CPU
    # cores each map point of ResNet-56 costs minutes; see bench/notes-landscape.md). Each
    # eigenvalue runs until its own residual ‖Hv − λv‖ is within 1 % of |λ| (the default
    # tolerance), up to 100 products at θ* and 40 per map point; the files record the residuals
    # and products, and the figures say which values converged.
    shift
    for model in "${@:-resnet56}"; do
      epochs=$(final_epoch "$model")
      for v in $VARIANTS; do
        (
          name=$model-$v
          ckpt=$(printf '%s/runs/%s/epoch-%03d.safetensors' "$A" "$name" "$epochs")
          mkdir -p "$A/trajectory" "$A/hessian"
          # Needs every epoch's checkpoint: after `prune` only the last is left, so keep the file.
          [ -f "$A/trajectory/$name.json" ] ||
            sk trajectory --run "$A/runs/$name" --out "$A/trajectory/$name.json"
          [ -f "$A/hessian/$name.point.json" ] ||
            sk hessian --checkpoint "$ckpt" --subset 64 --iters 100 --out "$A/hessian/$name.point.json"
          # The map is computed in <name>.json.partial (resumable; make-manifest skips it, so commit it
          # to carry a long run across sessions) and becomes <name>.json, the shipped map, when done.
          work=$A/hessian/$name.json.partial resume=()
          [ -f "$work" ] && resume=(--resume)
          sk hessian --checkpoint "$ckpt" --grid -1:1:5,-1:1:5 --seed 1 --subset 64 --iters 40 \
            --out "$work" "${resume[@]}" && mv "$work" "$A/hessian/$name.json"
        ) &
      done
      wait
    done
    ;;
  planes)
    # scripts/make-artifacts.sh planes [MODEL...]: Li et al.'s figure 9, the loss over the plane of
    # a run's first two principal components, as a 'pca' surface beside its trajectory. The PCA
    # needs every epoch's checkpoint: the shipped last one and the archived others (`prune`), or
    # a fresh `train`. The grid is square (one scale on both axes) and covers the projected path
    # with a margin (`--grid around:17`).
    shift
    for model in "${@:-resnet56}"; do
      for v in $VARIANTS; do
        (
          name=$model-$v
          run=.cache/planes/$name
          mkdir -p "$run"
          for f in .cache/artifacts-archive/runs/$name/epoch-*.safetensors "$A"/runs/$name/epoch-*.safetensors; do
            [ -f "$f" ] && ln -sf "$(realpath "$f")" "$run/$(basename "$f")"
          done
          resume=()
          [ -f "$A/trajectory/$name.surface.json" ] && resume=(--resume)
          sk trajectory --run "$run" --out "$A/trajectory/$name.json" --grid around:17 --subset 500 \
            --surface "$A/trajectory/$name.surface.json" "${resume[@]}"
        ) &
      done
      wait
    done
    ;;
  responses)
    # scripts/make-artifacts.sh responses [resnet56]: output std, gradient norm and response std of
    # every block (He et al.'s §4.1 and fig. 7) over the first 512 training images, BN in batch
    # mode, at the initial state (epoch 0: model.init(seed), what `train` starts from) and at every
    # checkpoint on disk: the shipped last one and, after `prune`, the archived others (a fresh
    # `train` makes them all). Each file is skipped once written.
    shift
    for model in "${@:-resnet56}"; do
      for v in $VARIANTS; do
        (
          name=$model-$v
          out=$A/responses/$name
          mkdir -p "$out"
          ckpts=()
          for f in .cache/artifacts-archive/runs/$name/epoch-*.safetensors "$A"/runs/$name/epoch-*.safetensors; do
            [ -f "$f" ] && ckpts+=("$f")
          done
          [ ${#ckpts[@]} -gt 0 ] || { echo "no checkpoint of $name" >&2; exit 2; }
          [ -f "$out/epoch-000.json" ] ||
            sk responses --checkpoint "${ckpts[-1]}" --initial --subset 512 --out "$out/epoch-000.json"
          for f in "${ckpts[@]}"; do
            e=$(basename "$f" .safetensors)
            [ -f "$out/$e.json" ] || sk responses --checkpoint "$f" --subset 512 --out "$out/$e.json"
          done
        ) &
      done
      wait
    done
    ;;
  paths)
    # scripts/make-artifacts.sh paths [resnet56] [resnet110]: Veit et al.'s studies of each run's last
    # checkpoint. The gradient per path length (the network with skips only: a plain network has one
    # path) from 64 samples per length, each a batch of 16 of the first 1,000 test images; the lesion
    # studies of both networks over the first 500 test images, 8 draws per number deleted and per
    # number of swaps. Both resume from their partial files (a lesion study also from one with
    # fewer draws: the shipped ones had 2 until session 9).
    shift
    for model in "${@:-resnet56}"; do
      epochs=$(final_epoch "$model")
      mkdir -p "$A/paths" "$A/lesion"
      ckpt() { printf '%s/runs/%s/epoch-%03d.safetensors' "$A" "$1" "$epochs"; }
      resume_flag() { [ -f "$1" ] && echo --resume || true; }
      if [[ " $VARIANTS " == *" skip "* ]]; then
        out=$A/paths/$model-skip.json
        # shellcheck disable=SC2046
        sk paths --checkpoint "$(ckpt "$model-skip")" --samples 64 --subset 1000 --batch 16 --seed 0 \
          --out "$out" $(resume_flag "$out") &
      fi
      for v in $VARIANTS; do
        out=$A/lesion/$model-$v.json
        # shellcheck disable=SC2046
        sk lesion --checkpoint "$(ckpt "$model-$v")" --subset 500 --draws 8 --seed 0 \
          --out "$out" $(resume_flag "$out") &
      done
      wait
    done
    ;;
  depth)
    # The effective-depth article: GSC, pre-activation std and sign diversity of the lab's 24
    # 50-layer width-100 MLPs at initialisation (256 Gaussian inputs, 4 weight draws of 4 projections), and the
    # Taylor-replacement curves of a plain and a residual BN-ReLU MLP trained 4 epochs on 6,000
    # images at 20 and 50 layers (lr 0.02: at 0.1 the 50-block residual network diverges).
    mkdir -p "$A/depth"
    [ -f "$A/depth/gsc.json" ] || sk gsc --all --out "$A/depth/gsc.json"
    for depth in 20 50; do
      [ -f "$A/depth/effective-depth-$depth.json" ] ||
        sk effective-depth --depth "$depth" --width 100 --epochs 4 --lr 0.02 \
          --out "$A/depth/effective-depth-$depth.json" &
    done
    wait
    ;;
  signals)
    # The signal figures' default states, exactly their settings tables' defaults
    # (src/components/signals/settings.ts; tests/unit/signals-figure.test.ts checks it).
    mkdir -p "$A/signals"
    sk signals --depth 50 --width 100 --activation tanh --init glorot --sigma-w2 2 --batch 256 --draws 8 \
      --seed 0 --chain 20000 --chain-depth 10 --chain-activation relu --gamma2 2 --out "$A/signals/vanish.json"
    sk signals --residual --alpha invsqrt --depth 1000 --width 100 --activation relu --init kaiming \
      --sigma-w2 2 --batch 64 --draws 4 --seed 0 --out "$A/signals/residual.json"
    ;;
  prune)
    # Before committing: keep each ResNet run's last checkpoint (θ* of its surfaces, and what
    # --resume continues from) and move the other epochs (trajectory inputs) and the 32 MB
    # BMEnet checkpoints (only their histories are shown) to .cache/artifacts-archive/.
    for dir in "$A"/runs/*/; do
      name=$(basename "$dir")
      mapfile -t ckpts < <(ls "$dir"epoch-*.safetensors 2>/dev/null | sort)
      [ ${#ckpts[@]} -gt 0 ] || continue
      keep=${ckpts[-1]}
      case $name in bmenet*) keep= ;; esac
      mkdir -p ".cache/artifacts-archive/runs/$name"
      for f in "${ckpts[@]}"; do
        [ "$f" = "$keep" ] || mv "$f" ".cache/artifacts-archive/runs/$name/"
      done
    done
    ;;
  *)
    echo "usage: $0 train|surfaces|curves|hessian|planes|paths|responses|depth|signals|prune [MODEL...]" >&2
    exit 2
    ;;
esac
