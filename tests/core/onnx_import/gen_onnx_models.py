#!/usr/bin/python3
"""ONNX fixtures for the flynet import tests, written with PyTorch (Debian's python3-torch).

Usage: gen_onnx_models.py OUT_DIR

For every model NAME it writes NAME.onnx (torch.onnx.export), NAME.in.bin (4 random inputs,
float32, NCHW as the ONNX input takes them) and NAME.out.bin (PyTorch's float32 outputs for
them, [4, classes]), and one line "NAME C H W CLASSES" in OUT_DIR/manifest.txt. The weights and
batch-norm statistics are random but fixed (seeded), so the BN nodes are not identities.
layout_nhwc.* is a model with an NHWC input (imported with --layout nhwc). ops_concat's Pad is
folded into its Conv, and ops_flatten gets a Transpose pair that undoes itself, after export. Also writes the bad files the error tests read: truncated.onnx (half of a valid file),
garbage.onnx (bytes that are not protobuf), unsupported.onnx (an op flynet refuses),
zero_stride.onnx (a window of stride 0) and
concat_rows.onnx (an op flynet has, with an attribute it refuses).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, d=8):
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


def conv_bn(cin, cout, k, s, groups=1, act=nn.ReLU):
    pad = ((k[0] - 1) // 2, (k[1] - 1) // 2) if isinstance(k, tuple) else (k - 1) // 2
    layers = [nn.Conv2d(cin, cout, k, s, pad, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# ---- MobileNetV2 (Sandler et al. 2018), width 0.35, stride 1 stem for 32x32 inputs ----------
class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1, 1, act=nn.ReLU6)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6), conv_bn(hidden, cout, 1, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class MobileNetV2(nn.Module):
    def __init__(self, width=0.35, classes=10, in_ch=3):
        super().__init__()
        rows = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        c = make_divisible(32 * width)
        layers = [conv_bn(in_ch, c, 3, 1, act=nn.ReLU6)]
        for t, ch, n, s in rows:
            out = make_divisible(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        last = 1280  # MobileNetV2 keeps 1280 for widths below 1
        layers.append(conv_bn(c, last, 1, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# ---- MobileNetV3-Small (Howard et al. 2019) -------------------------------------------------
class SE(nn.Module):
    def __init__(self, ch):
        super().__init__()
        sq = make_divisible(ch // 4)
        self.fc1 = nn.Conv2d(ch, sq, 1)
        self.fc2 = nn.Conv2d(sq, ch, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class Bneck(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride):
        super().__init__()
        layers = [] if exp == cin else [conv_bn(cin, exp, 1, 1, act=act)]
        layers.append(conv_bn(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(SE(exp))
        layers.append(conv_bn(exp, cout, 1, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


class MobileNetV3Small(nn.Module):
    def __init__(self, classes=10, in_ch=3):
        super().__init__()
        HS, RE = nn.Hardswish, nn.ReLU
        rows = [(3, 16, 16, True, RE, 2), (3, 72, 24, False, RE, 2), (3, 88, 24, False, RE, 1),
                (5, 96, 40, True, HS, 2), (5, 240, 40, True, HS, 1), (5, 240, 40, True, HS, 1),
                (5, 120, 48, True, HS, 1), (5, 144, 48, True, HS, 1), (5, 288, 96, True, HS, 2),
                (5, 576, 96, True, HS, 1), (5, 576, 96, True, HS, 1)]
        layers = [conv_bn(in_ch, 16, 3, 1, act=HS)]  # stride 1 stem for 32x32 inputs
        c = 16
        for k, exp, out, se, act, s in rows:
            layers.append(Bneck(c, k, exp, out, se, act, s))
            c = out
        layers.append(conv_bn(c, 576, 1, 1, act=HS))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(1024, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# ---- MLPerf Tiny reference models ----------------------------------------------------------
class ResBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, stride)
        self.b = conv_bn(cout, cout, 3, 1, act=None)
        self.short = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride)

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return F.relu(self.b(self.a(x)) + s)


class ResNet8(nn.Module):
    """MLPerf Tiny image classification: 32x32x3, stacks of 16, 32, 64 filters."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 16, 3, 1)
        self.blocks = nn.Sequential(ResBlock(16, 16, 1), ResBlock(16, 32, 2), ResBlock(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.avg_pool2d(self.blocks(self.stem(x)), 8)  # the reference's AveragePooling2D(8)
        return self.fc(torch.flatten(x, 1))


class DSCNN(nn.Module):
    """MLPerf Tiny keyword spotting: 49x10x1 MFCCs, a 10x4 stride-2 conv, 4 depthwise-separable blocks."""

    def __init__(self, classes=12, ch=64):
        super().__init__()
        layers = [nn.Conv2d(1, ch, (10, 4), 2, (5, 1)), nn.BatchNorm2d(ch), nn.ReLU()]
        for _ in range(4):
            layers += [conv_bn(ch, ch, 3, 1, groups=ch), conv_bn(ch, ch, 1, 1)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(ch, classes)

    def forward(self, x):
        x = self.features(x)
        x = F.avg_pool2d(x, x.shape[2:])
        return self.fc(torch.flatten(x, 1))


# ---- per-op models -------------------------------------------------------------------------
class OpsConv(nn.Module):
    """Dilation, rectangular kernels, unequal strides, grouped and depthwise-multiplier convs, sigmoid."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, 1, 2, dilation=2)
        self.b = nn.Conv2d(8, 8, (3, 5), (2, 1), (1, 2), groups=2)
        self.c = nn.Conv2d(8, 16, 3, 2, 1, groups=8)  # depthwise, multiplier 2
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = torch.sigmoid(self.a(x))
        x = F.relu6(self.b(x))
        x = F.hardswish(self.c(x))
        return self.fc(x.mean(dim=(2, 3), keepdim=True).flatten(1))


class OpsMatMul(nn.Module):
    """A classifier written as MatMul + Add (no Gemm) after a ReduceMean without keepdims."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 6, 3, 1, 1)
        self.w = nn.Parameter(torch.randn(6, 4))
        self.b = nn.Parameter(torch.randn(4))

    def forward(self, x):
        return torch.matmul(F.relu(self.conv(x)).mean(dim=(2, 3)), self.w) + self.b


class OpsPool(nn.Module):
    """MaxPool: overlapping padded windows, then a plain 2x2, before the global pool."""

    def __init__(self):
        super().__init__()
        self.a = conv_bn(3, 8, 3, 1)
        self.b = conv_bn(8, 12, 3, 1)
        self.fc = nn.Linear(12, 6)

    def forward(self, x):
        x = F.max_pool2d(self.a(x), 3, 2, 1)
        x = F.max_pool2d(self.b(x), 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LayoutNhwc(nn.Module):
    """An NHWC input, as TensorFlow exporters write it: the graph begins with a Transpose to NCHW.
    (The permute pair in forward is folded away by torch's exporter itself.)"""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, 1, 1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        y = F.relu(self.conv(x.permute(0, 3, 1, 2)))
        y = y.permute(0, 2, 3, 1).permute(0, 3, 1, 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class OpsConcat(nn.Module):
    """Concat of branches on different grids, LeakyRelu, a zero Pad folded into a Conv (asymmetric
    pads), AveragePool counting its pads, Mul broadcasting a 1-channel gate, Softmax at the end."""

    def __init__(self):
        super().__init__()
        self.a = conv_bn(3, 8, 3, 1)
        self.b = nn.Conv2d(3, 6, 3, 1, 1)
        self.c = nn.Conv2d(14, 10, 2, 1, 0)  # after F.pad(0, 1, 0, 1): 'same', asymmetric
        self.gate = nn.Conv2d(10, 1, 1)
        self.fc = nn.Linear(10, 7)

    def forward(self, x):
        y = torch.cat([self.a(x), F.leaky_relu(self.b(x), 0.1)], 1)
        y = F.avg_pool2d(y, 3, 2, 1, count_include_pad=True)
        y = F.relu(self.c(F.pad(y, (0, 1, 0, 1))))
        y = y * torch.sigmoid(self.gate(y))
        return torch.softmax(self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)), 1)


class OpsFlatten(nn.Module):
    """A 3x3 map flattened (NCHW order) into a Linear, AveragePool not counting its pads, Mul of two
    maps, LeakyRelu after a Linear."""

    def __init__(self):
        super().__init__()
        self.a = conv_bn(2, 6, 3, 1)
        self.b = nn.Conv2d(6, 6, 3, 2, 1)
        self.fc1 = nn.Linear(6 * 3 * 3, 12)
        self.fc2 = nn.Linear(12, 5)

    def forward(self, x):
        y = F.avg_pool2d(self.a(x), 3, 2, 1, count_include_pad=False)
        z = torch.sigmoid(self.b(y))
        y = F.max_pool2d(y, 2) * z
        return self.fc2(F.leaky_relu(self.fc1(torch.flatten(y, 1)), 0.2))


class FlattenNhwc(nn.Module):
    """A map put in NHWC order by a Transpose, then flattened into a Linear (TensorFlow's order)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, 1, 1)
        self.fc = nn.Linear(4 * 8 * 9, 3)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.conv(x)).permute(0, 2, 3, 1), 1))


class ConcatRows(nn.Module):
    """A Concat along H, which flynet refuses (it concatenates channels)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 1, 1)

    def forward(self, x):
        y = self.conv(x)
        return torch.flatten(F.adaptive_avg_pool2d(torch.cat([y, y], 2), 1), 1)


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = torch.rand(c, generator=gen) + 0.5
            m.bias.data = torch.randn(c, generator=gen) * 0.2
            m.running_mean.data = torch.randn(c, generator=gen) * 0.2
            m.running_var.data = torch.rand(c, generator=gen) + 0.5


def export(out, name, model, shape, keep_bn=False):
    gen = torch.Generator().manual_seed(abs(hash(name)) % 2**31 if False else len(name) * 7919)
    torch.manual_seed(len(name) * 104729)
    randomize_bn(model, gen)
    model.eval()
    x = torch.randn(4, *shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(out, name + ".onnx")
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, x[:1], path, opset_version=13, input_names=["image"], output_names=["logits"],
                      training=mode, do_constant_folding=not keep_bn)
    x.numpy().astype(np.float32).tofile(os.path.join(out, name + ".in.bin"))
    y.numpy().astype(np.float32).tofile(os.path.join(out, name + ".out.bin"))
    return "%s %d %d %d %d\n" % (name, shape[0], shape[1], shape[2], y.shape[1])


def prune(graph):
    """Drops the nodes no graph output depends on."""
    need = {o.name for o in graph.output}
    keep = []
    for n in reversed(list(graph.node)):
        if any(o in need for o in n.output):
            keep.append(n)
            need.update(i for i in n.input if i)
    del graph.node[:]
    graph.node.extend(reversed(keep))


def pads_into_conv(path):
    """torch 1.13 writes F.pad's pads as a computed tensor; folded here into the Conv that reads
    the Pad, as its own (asymmetric) pads: ONNX [top, left, bottom, right] from F.pad's (l, r, t, b)."""
    import onnx
    m = onnx.load(path)
    for conv in (n for n in m.graph.node if n.op_type == "Conv"):
        pad = next((n for n in m.graph.node if n.op_type == "Pad" and conv.input[0] in n.output), None)
        if pad is None:
            continue
        conv.input[0] = pad.input[0]
        for a in conv.attribute:
            if a.name == "pads":
                a.ints[:] = [0, 0, 1, 1]  # OpsConcat's F.pad(y, (0, 1, 0, 1))
    prune(m.graph)
    onnx.save(m, path)


def transpose_pair(path, after):
    """A Transpose to NHWC and one back to NCHW on the output of the first `after` node."""
    import onnx
    m = onnx.load(path)
    src = next(n for n in m.graph.node if n.op_type == after)
    t = src.output[0]
    for n in m.graph.node:
        for k, i in enumerate(n.input):
            if i == t:
                n.input[k] = t + "_nchw"
    at = list(m.graph.node).index(src) + 1
    m.graph.node.insert(at, onnx.helper.make_node("Transpose", [t], [t + "_nhwc"], perm=[0, 2, 3, 1], name="to_nhwc"))
    m.graph.node.insert(at + 1, onnx.helper.make_node("Transpose", [t + "_nhwc"], [t + "_nchw"], perm=[0, 3, 1, 2],
                                                       name="to_nchw"))
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    lines = [
        export(out, "mobilenetv2_035", MobileNetV2(0.35), (3, 32, 32)),
        export(out, "mobilenetv3_small", MobileNetV3Small(), (3, 32, 32), keep_bn=True),
        export(out, "resnet8", ResNet8(), (3, 32, 32)),
        export(out, "dscnn", DSCNN(), (1, 49, 10), keep_bn=True),
        export(out, "ops_conv", OpsConv(), (3, 12, 10)),
        export(out, "ops_matmul", OpsMatMul(), (2, 9, 9)),
        export(out, "ops_pool", OpsPool(), (3, 15, 13)),
        export(out, "ops_concat", OpsConcat(), (3, 12, 10)),
        export(out, "ops_flatten", OpsFlatten(), (2, 12, 12)),
        export(out, "flatten_nhwc", FlattenNhwc(), (2, 8, 9)),
    ]
    pads_into_conv(os.path.join(out, "ops_concat.onnx"))
    transpose_pair(os.path.join(out, "ops_flatten.onnx"), "Relu")
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.writelines(lines)
    export(out, "layout_nhwc", LayoutNhwc(), (10, 9, 3))  # NHWC: not in the NCHW manifest
    # Files the import must refuse, each with one line.
    good = open(os.path.join(out, "resnet8.onnx"), "rb").read()
    open(os.path.join(out, "truncated.onnx"), "wb").write(good[: len(good) // 2])
    open(os.path.join(out, "garbage.onnx"), "wb").write(b"\x08\x07not an onnx model at all\xff\xff\xff" * 4)
    up = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.Upsample(scale_factor=2), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    torch.onnx.export(up.eval(), torch.randn(1, 3, 8, 8), os.path.join(out, "unsupported.onnx"), opset_version=13)
    torch.onnx.export(ConcatRows().eval(), torch.randn(1, 3, 8, 8), os.path.join(out, "concat_rows.onnx"), opset_version=13)
    zero_stride(os.path.join(out, "ops_concat.onnx"), os.path.join(out, "zero_stride.onnx"))


def zero_stride(src, dst):
    """A MaxPool with a stride of 0 (onnx_fuzz found it: libonnx's shape inference divides by it)."""
    import onnx
    m = onnx.load(src)
    pool = next(n for n in m.graph.node if n.op_type in ("MaxPool", "AveragePool", "Conv"))
    for a in pool.attribute:
        if a.name == "strides":
            a.ints[-1] = 0
            break
    else:
        pool.attribute.append(onnx.helper.make_attribute("strides", [1, 0]))
    pool.name = "zero_stride"
    onnx.save(m, dst)


if __name__ == "__main__":
    main()
