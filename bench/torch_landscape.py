"""PyTorch reference for bench/torch-side-by-side.ts: the same CIFAR ResNet-n
(He et al. 2016, option-B shortcuts, Li et al.'s module names) built by hand
in torch.nn.functional, loaded from a skipscape checkpoint, evaluated at the
same landscape points on the same images, BN in inference mode.

PyTorch is for this benchmark only: nothing of the site, the command line or
the tests imports it. The safetensors files are read by hand (an 8-byte
little-endian header length, a JSON header, raw little-endian float32), so the
`safetensors` module is not needed.

  /usr/bin/python3 bench/torch_landscape.py --checkpoint FILE --directions FILE \
      --images public/data/fashion-mnist/train-images-idx3-ubyte.gz \
      --labels public/data/fashion-mnist/train-labels-idx1-ubyte.gz \
      --subset 500 --alphas -1,-0.75,... --threads 1 --repeats 1

Prints one JSON object: the loss and accuracy at each α, the seconds spent on
the points (after one warm-up point) and the points per second.
"""

import argparse
import gzip
import json
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

# Fashion-MNIST's normalisation, as src/compute/data/dataset.ts has it.
FASHION_MNIST_MEAN = 0.28615
FASHION_MNIST_STD = 0.35379
BN_EPSILON = 1e-5


def read_safetensors(path):
    """Tensors (float32 numpy arrays, in the file's shapes) and the metadata."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = memoryview(raw)[8 + n :]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, meta


def read_idx(path):
    """An IDX file (gzip or not) as a uint8 array of its shape."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4 : 4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def to_torch_layout(name, a):
    """tfjs layouts to torch's: conv HWIO → OIHW, dense [in, out] → [out, in]."""
    if a.ndim == 4:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(3, 2, 0, 1)))
    if a.ndim == 2:
        return torch.from_numpy(np.ascontiguousarray(a.T))
    return torch.from_numpy(a)


def conv_bn(p, x, conv, bn, stride, pad, relu):
    x = F.conv2d(x, p[f"{conv}.weight"], stride=stride, padding=pad)
    x = F.batch_norm(
        x,
        p[f"{bn}.runningMean"],
        p[f"{bn}.runningVar"],
        p[f"{bn}.gamma"],
        p[f"{bn}.beta"],
        training=False,
        eps=BN_EPSILON,
    )
    return F.relu(x) if relu else x


def resnet_forward(p, spec, x):
    """ResNet-n of src/compute/models/resnet.ts, inference mode."""
    k = (spec["depth"] - 2) // 6
    w = spec.get("width", 16)
    alpha = spec.get("residualScale", 1)
    x = conv_bn(p, x, "conv1", "bn1", 1, 1, True)
    cin = w
    for stage, planes in enumerate([w, 2 * w, 4 * w]):
        for b in range(k):
            name = f"layer{stage + 1}.{b}"
            stride = 2 if stage > 0 and b == 0 else 1
            h = conv_bn(p, x, f"{name}.conv1", f"{name}.bn1", stride, 1, True)
            branch = conv_bn(p, h, f"{name}.conv2", f"{name}.bn2", 1, 1, False)
            if alpha != 1:
                branch = branch * alpha
            if not spec["skip"]:
                x = F.relu(branch)
            else:
                shortcut = x
                if stride != 1 or cin != planes:
                    if spec["shortcut"] != "B":
                        raise ValueError("only option-B shortcuts are built here")
                    shortcut = conv_bn(
                        p, x, f"{name}.shortcut.0", f"{name}.shortcut.1", stride, 0, False
                    )
                x = F.relu(branch + shortcut)
            cin = planes
    pooled = x.mean(dim=(2, 3))
    return F.linear(pooled, p["linear.weight"], p["linear.bias"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--directions", required=True, help="x.<name> tensors: δ, as skipscape wrote it")
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--subset", type=int, default=500)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--alphas", required=True)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    checkpoint, meta = read_safetensors(args.checkpoint)
    spec = json.loads(meta["spec"])
    if spec["kind"] != "resnet":
        raise ValueError("the reference builds ResNets only")
    directions, _ = read_safetensors(args.directions)
    origin = {n: to_torch_layout(n, a) for n, a in checkpoint.items() if not n.startswith("optim.")}
    delta = {
        n[2:]: to_torch_layout(n[2:], a)
        for n, a in directions.items()
        if n.startswith("x.") and np.any(a != 0)
    }

    images = read_idx(args.images)[: args.subset].astype(np.float32)
    labels = read_idx(args.labels)[: args.subset].astype(np.int64)
    x_all = torch.from_numpy((images / 255.0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD).float()
    x_all = x_all.reshape(args.subset, 1, 28, 28)
    y_all = torch.from_numpy(labels)
    batches = [
        (x_all[i : i + args.batch], y_all[i : i + args.batch])
        for i in range(0, args.subset, args.batch)
    ]

    def evaluate(a):
        p = {n: (t + a * delta[n] if n in delta else t) for n, t in origin.items()}
        loss_sum = 0.0
        correct = 0
        for xb, yb in batches:
            logits = resnet_forward(p, spec, xb)
            loss_sum += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += int((logits.argmax(1) == yb).sum())
        return loss_sum / args.subset, correct / args.subset

    alphas = [float(a) for a in args.alphas.split(",")]
    with torch.no_grad():
        evaluate(alphas[0])  # warm-up: allocator, kernels
        t0 = time.perf_counter()
        points = [evaluate(a) for a in alphas]
        seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "threads": args.threads,
                "alphas": alphas,
                "loss": [p[0] for p in points],
                "accuracy": [p[1] for p in points],
                "seconds": seconds,
                "pointsPerSecond": len(alphas) / seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
