#!/usr/bin/python3
"""Fixtures for `skipscape import-checkpoint --from torch` (tests/unit/checkpoint-torch.test.ts).

Builds two small CIFAR ResNets in PyTorch with the parameter names of the
code researchers use, gives them seeded random weights AND random BN running
statistics (so a converter that mixed up mean and variance, or γ and β, or
forgot to transpose a kernel, would not agree by luck), evaluates them in
eval mode and saves:

  torch-resnet8-li-B.safetensors     Li et al.'s layout (loss-landscape,
                                     cifar10/models/resnet.py, ResNet_cifar with
                                     BasicBlock): option-B shortcuts
                                     (shortcut.0 = 1x1 conv, shortcut.1 = BN),
                                     3x32x32 input, width 16, depth 8
  torch-resnet8-li-B.expected.safetensors
                                     inputs (NCHW), labels, logits, loss
  torch-resnet8-akamaster-A.safetensors
                                     akamaster/pytorch_resnet_cifar10's layout:
                                     option-A shortcuts (x[:, :, ::2, ::2]
                                     zero-padded by planes//4 channels on each
                                     side, no tensors), here on 1x28x28
                                     Fashion-MNIST with width 8, depth 8
  torch-resnet8-akamaster-A.expected.json
                                     loss, logits and labels of the first 16
                                     images of public/data/fashion-mnist's
                                     test split (so the test can run `eval`)

The state_dicts are written in the safetensors format by hand (an 8-byte
little-endian header length, a JSON header, the raw little-endian bytes), so
the `safetensors` Python package is not needed; num_batches_tracked stays
int64 as PyTorch stores it.

Run: /usr/bin/python3 scripts/make-torch-fixtures.py   (PyTorch 1.13 or newer)
"""
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, 'tests', 'unit', 'fixtures')

DTYPES = {torch.float32: 'F32', torch.int64: 'I64'}


def write_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# --- Li et al.'s BasicBlock and ResNet_cifar (loss-landscape, cifar10/models/resnet.py),
# with the first stage's width as a parameter (their WResNet_cifar's 16*k).

class BasicBlockB(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


# --- akamaster/pytorch_resnet_cifar10's option A: a LambdaLayer, no tensors.

class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlockA(BasicBlockB):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__(in_planes, planes, stride)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = LambdaLayer(lambda x: F.pad(
                x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4), 'constant', 0))


class ResNetCifar(nn.Module):
    def __init__(self, block, k, width, channels, classes=10):
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, k, 1)
        self.layer2 = self._make_layer(block, 2 * width, k, 2)
        self.layer3 = self._make_layer(block, 4 * width, k, 2)
        self.linear = nn.Linear(4 * width, classes)

    def _make_layer(self, block, planes, k, stride):
        layers = []
        for s in [stride] + [1] * (k - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        # Li et al. write avg_pool2d(out, 8) (global on 32x32 inputs); akamaster
        # pools over out.size()[3]: the same global average pool.
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def randomise_bn(model, g):
    """γ, β and the running statistics drawn at random, not left at 1, 0, 0, 1."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=g)
            m.bias.data = 0.2 * torch.randn(c, generator=g)
            m.running_mean = 0.2 * torch.randn(c, generator=g)
            m.running_var = 0.5 + torch.rand(c, generator=g)
            m.num_batches_tracked.fill_(int(torch.randint(1, 10000, (1,), generator=g)))


def read_idx(path, count):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('>I', data[:4])[0]
    dims = [struct.unpack('>I', data[4 + 4 * i:8 + 4 * i])[0] for i in range(magic & 0xff)]
    start = 4 + 4 * len(dims)
    size = 1
    for d in dims[1:]:
        size *= d
    return torch.tensor(list(data[start:start + count * size]), dtype=torch.uint8).reshape(
        [count] + dims[1:])


def main():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(17)
    os.makedirs(OUT, exist_ok=True)

    # Li et al.'s layout, option B, CIFAR-shaped input.
    li = ResNetCifar(BasicBlockB, 1, 16, 3)
    randomise_bn(li, g)
    li.eval()
    inputs = torch.randn(6, 3, 32, 32, generator=g)
    labels = torch.randint(0, 10, (6,), generator=g)
    with torch.no_grad():
        logits = li(inputs)
        loss = F.cross_entropy(logits, labels)
    write_safetensors(os.path.join(OUT, 'torch-resnet8-li-B.safetensors'), li.state_dict())
    write_safetensors(os.path.join(OUT, 'torch-resnet8-li-B.expected.safetensors'),
                      {'inputs': inputs, 'labels': labels, 'logits': logits,
                       'loss': loss.reshape(1)},
                      {'torch': torch.__version__})
    print(f'Li et al. option B: loss {loss.item():.6f}')

    # akamaster's layout, option A, on Fashion-MNIST's first 16 test images,
    # normalised as skipscape does: (v/255 - 0.28615) / 0.35379.
    aka = ResNetCifar(BasicBlockA, 1, 8, 1)
    randomise_bn(aka, g)
    aka.eval()
    data = os.path.join(ROOT, 'public', 'data', 'fashion-mnist')
    images = read_idx(os.path.join(data, 't10k-images-idx3-ubyte.gz'), 16).float()
    labels = read_idx(os.path.join(data, 't10k-labels-idx1-ubyte.gz'), 16).long()
    x = ((images / 255 - 0.28615) / 0.35379).unsqueeze(1)
    with torch.no_grad():
        logits = aka(x)
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
    write_safetensors(os.path.join(OUT, 'torch-resnet8-akamaster-A.safetensors'), aka.state_dict())
    with open(os.path.join(OUT, 'torch-resnet8-akamaster-A.expected.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'split': 'test', 'images': 16,
                   'labels': labels.tolist(), 'loss': loss.item(), 'accuracy': accuracy.item(),
                   'logits': [[round(v, 7) for v in row] for row in logits.tolist()]}, f, indent=1)
        f.write('\n')
    print(f'akamaster option A: loss {loss.item():.6f}, accuracy {accuracy.item():.4f}')


if __name__ == '__main__':
    main()
