"""GSC(k, L) of one GSC-lab network, computed exactly in PyTorch: the
independent check of src/compute/signals/gsc.ts (Philipp et al., seed 000).

Reads the network and its inputs from gsc-dump.ts's safetensors file, builds
the MLP with torch's own layers (F.linear, F.batch_norm in training mode,
F.relu/tanh/selu) in float64, and computes, for every layer k,

    GSC(k, L) = ||J_{L,k}||_qm * ||h_k|| / ||h_L||,
    ||J||_qm^2 = tr(J^T J) / (N d),   ||h|| = sqrt(sum h^2 / N),

with J the Jacobian of the whole batch's top layer (N x d values, coupled by
BN) with respect to layer k's, its trace summed exactly over every output
coordinate (batched backward passes), where skipscape estimates it with
random projections.

    /usr/bin/python3 scripts/cross-check/gsc_torch.py .cache/cross-check/gsc.safetensors \
        >> tests/unit/fixtures/gsc-torch.json   (one JSON object per network; see README there)
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        lo, hi = info["data_offsets"]
        a = np.frombuffer(body[lo:hi], dtype="<f4").reshape(info["shape"])
        tensors[name] = torch.from_numpy(a.astype(np.float64))
    return meta, tensors


def activation(x, kind):
    return {"relu": F.relu, "tanh": torch.tanh, "selu": F.selu, "sigmoid": torch.sigmoid,
            "linear": lambda v: v}[kind](x)


def forward(net, p, x):
    """The layers h_0 ... h_n (what enters each nonlinearity) and the top h_L."""
    eps = 1e-5  # PyTorch's default, as skipscape's BATCH_NORM_EPSILON

    def bn(u, t):
        if not net["batchNorm"]:
            return u
        return F.batch_norm(u, None, None, p[f"norms.{t}.gamma"], p[f"norms.{t}.beta"],
                            training=True, eps=eps)

    # tfjs stores weights [in, out]; F.linear wants [out, in].
    lin = lambda name, z: F.linear(z, p[f"{name}.weight"].T, p.get(f"{name}.bias"))
    layers = []
    if net["residualAlpha"] is None:
        z = x
        for t in range(net["depth"]):
            s = bn(lin(f"layers.{t}", z), t)
            layers.append(s)
            z = activation(s, net["activation"])
        return layers, z
    h = lin("input", x)
    layers.append(h)
    for t in range(net["depth"]):
        branch = bn(lin(f"layers.{t}", activation(h, net["activation"])), t) * net["residualAlpha"]
        h = h + branch
        layers.append(h)
    return layers, h


def main(path, chunk=64):
    meta, p = read_safetensors(path)
    net = json.loads(meta["network"])
    # Something must require a gradient for the graph to be built; J is taken at the layers.
    x = p.pop("inputs").requires_grad_(True)
    n, d = x.shape
    layers, top = forward(net, p, x)
    # tr(J_k J_k^T) for every k at once, by batched backward passes of one-hot
    # cotangents on the top layer. With BN the batch's inputs are coupled, so each
    # of the N*d output coordinates is its own cotangent; without BN each input's
    # Jacobian is its own block, and one cotangent per coordinate j, set for every
    # input at once, sums sum_i ||row j of J(x_i)||^2 exactly (d cotangents).
    traces = torch.zeros(len(layers), dtype=torch.float64)
    coupled = net["batchNorm"]
    total = n * d if coupled else d
    for start in range(0, total, chunk):
        idx = torch.arange(start, min(start + chunk, total))
        v = torch.zeros(len(idx), n, d, dtype=torch.float64)
        if coupled:
            v.view(len(idx), n * d)[torch.arange(len(idx)), idx] = 1
        else:
            v[torch.arange(len(idx)), :, idx] = 1
        grads = torch.autograd.grad(top, layers, grad_outputs=v,
                                    retain_graph=True, is_grads_batched=True)
        traces += torch.stack([g.pow(2).sum() for g in grads])
        print(f"\r{min(start + chunk, total)}/{total}", end="", file=sys.stderr)
    print(file=sys.stderr)
    norm = lambda h: float(h.pow(2).sum().div(n).sqrt())
    qm = (traces / (n * d)).sqrt()
    gsc = [float(qm[k]) * norm(h) / norm(top) for k, h in enumerate(layers)]
    print(json.dumps({"network": net, "seed": int(meta["seed"]), "inputs": n, "draw": 0,
                      "torch": torch.__version__, "dtype": "float64",
                      "gscToTop": gsc, "layerNorm": [norm(h) for h in layers], "topNorm": norm(top)}))


if __name__ == "__main__":
    main(sys.argv[1])
