#!/usr/bin/env python3
"""FlyNet-h3 0.5x, small-input variant (28x28x1, 10 classes), in PyTorch: the same graph as
`flynet info --input 28x28x1` (same layers, channel order, shortcuts, VA-ECA softmax gating,
max-out), timed for training (forward, label-smoothed cross-entropy, backward, SGD step) and
inference (eval mode, inference_mode) on random batches, with torch.set_num_threads(THREADS).

    python3 bench/pytorch_flynet.py [--batch 128] [--steps 20] [--threads 2] [--check]

Prints `train_img_per_s: X` and `infer_img_per_s: Y`: the best of NCHW and channels_last, each
with VA-ECA's std as E[z^2] - E[z]^2 and Max-out as max(dim) (PyTorch's fastest) and with the
literal var() and amax().
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_div(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    if n < 0.9 * v:
        n += d
    return n


def eca_k(c):
    k = int(abs((math.log2(c) + 1) / 2))
    return max(3, k if k % 2 else k + 1)


# The formulation of VA-ECA's std and of Max-out: FAST (E[z^2] - E[z]^2 and max(dim)) or the
# literal one (var() and amax()); main() measures both and keeps each figure's best.
FAST = True


class HSwish(nn.Module):
    def forward(self, x):
        return F.hardswish(x)


class VAECA(nn.Module):
    """(mean, std) per head map -> shared 1-D conv over channels -> h * softmax over heads / T."""

    def __init__(self, e, h):
        super().__init__()
        self.e, self.h, self.k = e, h, eca_k(e)
        self.conv = nn.Conv1d(2, 1, self.k, padding=(self.k - 1) // 2, bias=False)
        self.temperature = 1.0

    def forward(self, z):  # z: N, E*h, H, W with channel c*h + j
        n = z.shape[0]
        mu = z.mean(dim=(2, 3))
        if FAST:  # E[z^2] - E[z]^2: two plain means, markedly faster than var() in PyTorch 1.13
            sd = torch.sqrt((z * z).mean(dim=(2, 3)) - mu * mu + 1e-5)
        else:
            sd = torch.sqrt(z.var(dim=(2, 3), unbiased=False) + 1e-5)
        d = torch.stack([mu, sd], 1).view(n, 2, self.e, self.h)       # N, 2, E, h
        d = d.permute(0, 3, 1, 2).reshape(n * self.h, 2, self.e)       # (N h), 2, E
        l = self.conv(d).view(n, self.h, self.e).permute(0, 2, 1)      # N, E, h
        g = self.h * torch.softmax(l / self.temperature, dim=2)
        return z * g.reshape(n, self.e * self.h, 1, 1)


class FlyBlock(nn.Module):
    def __init__(self, cin, e, cout, k, s, nl, h=3):
        super().__init__()
        self.exp = None
        if e != cin:
            self.exp = nn.Sequential(nn.Conv2d(cin, e, 1, bias=False), nn.BatchNorm2d(e, eps=1e-3, momentum=0.01),
                                     nn.ReLU() if nl == "RE" else HSwish())
        self.mdw = nn.Conv2d(e, h * e, k, s, (k - 1) // 2, groups=e, bias=False)  # output c*h + j
        self.mdw_bn = nn.BatchNorm2d(h * e, eps=1e-3, momentum=0.01)
        self.eca = VAECA(e, h)
        self.h, self.e = h, e
        self.proj = nn.Conv2d(e, cout, 1, bias=False)
        self.proj_bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.identity = s == 1 and cin == cout
        self.short = None
        if not self.identity:  # MDW-Concat: ceil(cout/cin) depthwise heads, output o reads input o % cin
            self.reps = -(-cout // cin)
            self.cout = cout
            self.short = nn.Conv2d(cout, cout, 3, s, 1, groups=cout, bias=False)
            self.short_bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x):
        u = self.exp(x) if self.exp is not None else x
        z = self.eca(self.mdw_bn(self.mdw(u)))
        n, _, hh, ww = z.shape
        zh = z.view(n, self.e, self.h, hh, ww)  # max-out over the heads
        v = zh.max(dim=2).values if FAST else zh.amax(dim=2)
        y = self.proj_bn(self.proj(v))
        if self.identity:
            return y + x
        xs = x.repeat(1, self.reps, 1, 1)[:, : self.cout]
        return y + self.short_bn(self.short(xs))


class FlyNet(nn.Module):
    ROWS = [  # k, expansion ratio, out, nl, stride (MobileNetV3-Small, TF-slim ratios)
        (3, 1.0, 16, "RE", 2), (3, 72 / 16, 24, "RE", 2), (3, 88 / 24, 24, "RE", 1), (5, 4, 40, "HS", 2),
        (5, 6, 40, "HS", 1), (5, 6, 40, "HS", 1), (5, 3, 48, "HS", 1), (5, 3, 48, "HS", 1),
        (5, 6, 96, "HS", 2), (5, 6, 96, "HS", 1), (5, 6, 96, "HS", 1)]

    def __init__(self, width=0.5, in_c=1, classes=10):
        super().__init__()
        c = make_div(16 * width)
        layers = [nn.Conv2d(in_c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c, eps=1e-3, momentum=0.01), HSwish()]
        for i, (k, ratio, out, nl, s) in enumerate(self.ROWS):
            s = 1 if i == 0 else s  # small-input variant: stem and b0 at stride 1
            cout = make_div(out * width)
            e = make_div(c * ratio)
            layers.append(FlyBlock(c, e, cout, k, s, nl))
            c = cout
        last = make_div(576 * width)
        layers += [nn.Conv2d(c, last, 1, bias=False), nn.BatchNorm2d(last, eps=1e-3, momentum=0.01), HSwish(),
                   nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        fc1 = make_div(1024 * width)
        layers += [nn.Linear(last, fc1), HSwish(), nn.Dropout(0.2), nn.Linear(fc1, classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def measure(model, x, y, steps, channels_last):
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    train = steps * x.shape[0] / (time.perf_counter() - t0)
    model.eval()
    with torch.inference_mode():  # no autograd bookkeeping at all, faster than no_grad
        for _ in range(3):
            model(x)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(x)
        infer = steps * x.shape[0] / (time.perf_counter() - t0)
    return train, infer


def run_once(fast, channels_last, x, y):
    """Outputs (train mode), weight gradients and outputs (eval mode) of the seed-0 model."""
    global FAST
    FAST = fast
    torch.manual_seed(0)
    model = FlyNet().double()  # in double, round-off is ~1e-15 and cannot hide a different model
    x = x.double()
    model.net[-2].p = 0.0  # dropout off: its mask would differ between runs
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()
    out = model(x)
    nn.CrossEntropyLoss(label_smoothing=0.1)(out, y).backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    model.eval()
    with torch.inference_mode():
        ev = model(x)
    return out.detach(), grads, ev


def check(x, y):
    """Largest relative difference of each formulation from the literal NCHW one."""
    ref = run_once(False, False, x, y)
    worst = 0.0
    for fast, cl in ((True, False), (False, True), (True, True)):
        got = run_once(fast, cl, x, y)
        rel = [float((a - b).abs().max() / b.abs().max()) for a, b in zip(got, ref)]
        worst = max(worst, *rel)
        print(f"check {'fast' if fast else 'literal'} {'channels_last' if cl else 'nchw'} vs literal nchw: "
              f"max relative difference train out {rel[0]:.1e}, gradients {rel[1]:.1e}, eval out {rel[2]:.1e}")
    if worst > 1e-9:
        raise SystemExit(f"formulations differ by {worst:.1e}: not the same model")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="first check the formulations agree")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    if a.check:
        check(x[:16], y[:16])
    global FAST
    best = (0.0, 0.0)
    for fast in (True, False):
        FAST = fast
        for cl in (False, True):
            t, i = measure(FlyNet(), x, y, a.steps, cl)
            print(f"{'fast' if fast else 'literal'} {'channels_last' if cl else 'nchw'}: "
                  f"train {t:.1f} img/s, inference {i:.1f} img/s")
            best = (max(best[0], t), max(best[1], i))
    params = sum(p.numel() for p in FlyNet().parameters())  # = flynet info's "params (with BN)"
    print(f"torch {torch.__version__}, threads {a.threads}, batch {a.batch}, parameters incl. BN {params}")
    print(f"train_img_per_s: {best[0]:.1f}")
    print(f"infer_img_per_s: {best[1]:.1f}")


if __name__ == "__main__":
    main()
