#!/usr/bin/python3
"""The PyTorch half of bench/import_accuracy.sh (issue #15): train the MLPerf Tiny ResNet-8 on
Fashion-MNIST (28x28x1) for a few epochs, report its float top-1 on the 10,000 test images and
export it as ONNX for `flynet import`.

Usage: import_accuracy.py DATA_DIR OUT_DIR [--epochs N] [--threads T] [--seed S]

Writes OUT_DIR/resnet8.onnx (opset 13, BatchNormalization kept so `flynet train --init` can
fine-tune it) and OUT_DIR/pytorch.txt, whose lines are `key value`: mean, std (of the training
pixels in [0, 1], the normalisation to give `flynet import`), float_top1 (percent), train_s.

The preprocessing and augmentation are flynet's own for this data set (pixels / 255, then
(x - mean) / std; a random crop of the image padded by 2 black pixels and a random horizontal
flip), so the test images PyTorch scores are the ones flynet scores.
"""
import argparse
import gzip
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The ResNet-8 blocks of the import tests' generator (one definition of the architecture).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "core", "onnx_import"))
from gen_onnx_models import ResBlock, conv_bn  # noqa: E402


class ResNet8(nn.Module):
    """MLPerf Tiny ResNet-8 (stacks of 16, 32, 64 filters) for a C-channel input; the average
    pool covers the whole last map, as the reference's AveragePooling2D(8) does at 32x32."""

    def __init__(self, in_ch=1, classes=10):
        super().__init__()
        self.stem = conv_bn(in_ch, 16, 3, 1)
        self.blocks = nn.Sequential(ResBlock(16, 16, 1), ResBlock(16, 32, 2), ResBlock(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = F.avg_pool2d(x, x.shape[2:])
        return self.fc(torch.flatten(x, 1))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data, split):
    images = read_idx(os.path.join(data, split + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data, split + "-labels-idx1-ubyte.gz"))
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def augment(x, gen, pad=2):
    """Random crop of the zero-padded image (zero: a black pixel, before normalising) and a
    random horizontal flip, one draw per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
    out = out.gather(3, cols)
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def top1(model, x, y, mean, std):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model((x[i:i + 1000] - mean) / std).argmax(1) == y[i:i + 1000]).sum().item()
    return 100.0 * correct / len(x)


def train(model, x, y, mean, std, epochs, seed, batch=128, lr=0.1):
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        t0, loss_sum = time.time(), 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb = (augment(x[idx], gen) - mean) / std
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
        print("epoch %d/%d: loss %.4f, %.0f s" % (epoch + 1, epochs, loss_sum / len(x), time.time() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")  # torch.onnx's notes on the exporter, not about this model
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    mean, std = xtr.mean().item(), xtr.std().item()
    model = ResNet8(in_ch=1)
    t0 = time.time()
    train(model, xtr, ytr, mean, std, a.epochs, a.seed)
    train_s = time.time() - t0
    acc = top1(model, xte, yte, mean, std)
    print("PyTorch float top-1 on the %d test images: %.2f %%" % (len(xte), acc))
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(a.out, "resnet8.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    with open(os.path.join(a.out, "pytorch.txt"), "w") as f:
        f.write("mean %.6f\nstd %.6f\nfloat_top1 %.2f\ntrain_s %.0f\n" % (mean, std, acc, train_s))


if __name__ == "__main__":
    main()
