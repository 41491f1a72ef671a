#!/usr/bin/python3
"""Quantized (QDQ) ONNX fixtures for the flynet import tests: QuantizeLinear / DequantizeLinear
as PyTorch's fake-quant export and ONNX Runtime's QDQ quantizer write them.

Usage: gen_qdq_models.py OUT_DIR

For each model NAME it writes NAME.onnx, NAME.in.bin (16 random inputs in [-2, 2], float32,
NCHW), NAME.sim.bin (the QDQ model's float simulation of them, float32 [16, classes], computed
here: PyTorch's fake quantization, or a NumPy/torch.nn.functional walk of the QDQ graph) and
NAME.codes.bin (the int8 weight codes of every quantized conv / linear in graph order, each in
its ONNX layout, OIHW or [out, in]); one line "NAME C H W CLASSES" in OUT_DIR/qdq_manifest.txt.

  qdq_torch  a fake-quant PyTorch network (per-tensor uint8 activations, per-channel int8
             weights, float biases) exported by torch.onnx.export at opset 13
  qdq_qat    torch.ao.quantization's eager QAT (fbgemm qconfig, reduced uint8 ranges), trained
             a few steps and exported at opset 13
  qdq_ort    built with onnx.helper in ONNX Runtime's QDQ layout: int8 weight initializers
             with DequantizeLinear along axis 0, int32 biases at scale s_in * s_w, uint8
             activations with their own zero points, a pooled output on a new grid

and the files the import must refuse (qdq_bad_*.onnx), each with one thing flynet does not take.
"""
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

N_IMAGES = 16


def uint8_grid(lo, hi):
    """Asymmetric uint8 parameters of a range that contains 0 (PyTorch's MinMax observer)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0)
    zero = int(np.clip(np.round(-lo / scale), 0, 255))
    return float(scale), zero


def channel_scales(w):
    """Symmetric int8 scale per output channel (axis 0): max |w| / 127."""
    a = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    return np.where(a > 0, a / 127.0, 1.0).astype(np.float32)


# ---- PyTorch fake quantization, exported ------------------------------------------------
class FakeQuantNet(nn.Module):
    """Conv-ReLU, depthwise-ReLU, 1x1, residual Add, MaxPool, strided conv, mean, Linear; a
    fake-quant point after each, the grids fixed from one calibration batch."""

    POINTS = ["in", "a", "b", "c", "add", "d", "pool", "out"]

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, 1, 1)
        self.b = nn.Conv2d(8, 8, 3, 1, 1, groups=8)
        self.c = nn.Conv2d(8, 8, 1)
        self.d = nn.Conv2d(8, 16, 3, 2, 1)
        self.fc = nn.Linear(16, 10)
        self.grids = None  # point -> (scale, zero); None: float (calibration)
        self.ranges = {}

    def fq(self, name, x):
        if self.grids is None:
            lo, hi = self.ranges.get(name, (0.0, 0.0))
            self.ranges[name] = (min(lo, x.min().item()), max(hi, x.max().item()))
            return x
        s, z = self.grids[name]
        return torch.fake_quantize_per_tensor_affine(x, s, z, 0, 255)

    def wq(self, layer):
        if self.grids is None:
            return layer.weight
        return torch.fake_quantize_per_channel_affine(layer.weight, getattr(self, "ws_" + layer._name),
                                                      torch.zeros(layer.weight.shape[0], dtype=torch.int32), 0, -128, 127)

    def conv(self, layer, x):
        return F.conv2d(x, self.wq(layer), layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)

    def forward(self, x):
        x = self.fq("in", x)
        y = self.fq("a", F.relu(self.conv(self.a, x)))
        z = self.fq("b", F.relu(self.conv(self.b, y)))
        z = self.fq("c", self.conv(self.c, z))
        s = F.max_pool2d(self.fq("add", y + z), 2)
        d = self.fq("d", F.relu(self.conv(self.d, s)))
        g = self.fq("pool", d.mean(dim=(2, 3)))
        return self.fq("out", F.linear(g, self.wq(self.fc), self.fc.bias))

    def freeze(self):
        for name in ["a", "b", "c", "d", "fc"]:
            layer = getattr(self, name)
            layer._name = name
            self.register_buffer("ws_" + name, torch.from_numpy(channel_scales(layer.weight.detach().numpy())))
        self.grids = {k: uint8_grid(*self.ranges[k]) for k in self.POINTS}

    def codes(self):
        out = []
        for name in ["a", "b", "c", "d", "fc"]:
            w = getattr(self, name).weight.detach()
            s = getattr(self, "ws_" + name).view(-1, *([1] * (w.dim() - 1)))
            out.append(torch.clamp(torch.round(w / s), -128, 127).to(torch.int8).numpy().ravel())
        return np.concatenate(out)


def torch_fixture(out):
    torch.manual_seed(2024)
    net = FakeQuantNet().eval()
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        net(torch.rand(64, 3, 16, 16, generator=gen) * 4 - 2)  # calibration: the grids
        net.freeze()
        x = torch.rand(N_IMAGES, 3, 16, 16, generator=gen) * 4 - 2
        y = net(x)
    torch.onnx.export(net, x[:1], os.path.join(out, "qdq_torch.onnx"), opset_version=13, input_names=["image"],
                      output_names=["logits"])
    write_io(out, "qdq_torch", x.numpy(), y.numpy(), net.codes())
    return "qdq_torch 3 16 16 10\n"


# ---- torch.ao.quantization QAT, exported ----------------------------------------------------
class QatNet(nn.Module):
    """The eager-mode QAT flow: QuantStub, fused Conv+ReLU, a residual add (FloatFunctional),
    global average pool, Linear; fbgemm's qconfig (per-channel int8 weights, uint8 activations
    with reduce_range: codes 0..127, which the export writes as a Clip between QuantizeLinear
    and DequantizeLinear)."""

    def __init__(self):
        super().__init__()
        self.quant, self.dequant = torch.ao.quantization.QuantStub(), torch.ao.quantization.DeQuantStub()
        self.c1, self.r1 = nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU()
        self.c2, self.r2 = nn.Conv2d(8, 8, 3, 1, 1), nn.ReLU()
        self.skip = torch.ao.nn.quantized.FloatFunctional()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 6)

    def forward(self, x):
        x = self.quant(x)
        y = self.r1(self.c1(x))
        y = self.skip.add(y, self.r2(self.c2(y)))
        return self.dequant(self.fc(torch.flatten(self.pool(y), 1)))


def qat_fixture(out):
    tq = torch.ao.quantization
    torch.manual_seed(99)
    net = QatNet().train()
    net.qconfig = tq.get_default_qat_qconfig("fbgemm", version=0)  # version 1's fused observer does not export
    tq.fuse_modules_qat(net, [["c1", "r1"], ["c2", "r2"]], inplace=True)
    tq.prepare_qat(net, inplace=True)
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(5)
    for _ in range(30):  # a few QAT steps on random targets: the observers and weights move
        x = torch.rand(32, 3, 12, 12, generator=gen) * 4 - 2
        loss = F.cross_entropy(net(x), torch.randint(0, 6, (32,), generator=gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    net.apply(tq.disable_observer)
    x = torch.rand(N_IMAGES, 3, 12, 12, generator=gen) * 4 - 2
    with torch.no_grad():
        y = net(x)
    torch.onnx.export(net, x[:1], os.path.join(out, "qdq_qat.onnx"), opset_version=13, input_names=["image"],
                      output_names=["logits"])
    codes = []
    for layer in [net.c1, net.c2, net.fc]:
        fq, w = layer.weight_fake_quant, layer.weight.detach()
        shape = [-1] + [1] * (w.dim() - 1)
        q = torch.round(w / fq.scale.view(shape)) + fq.zero_point.view(shape)
        codes.append(torch.clamp(q, fq.quant_min, fq.quant_max).to(torch.int8).numpy().ravel())
    write_io(out, "qdq_qat", x.numpy(), y.numpy(), np.concatenate(codes))
    return "qdq_qat 3 12 12 6\n"


def write_io(out, name, x, y, codes):
    x.astype(np.float32).tofile(os.path.join(out, name + ".in.bin"))
    y.astype(np.float32).tofile(os.path.join(out, name + ".sim.bin"))
    codes.astype(np.int8).tofile(os.path.join(out, name + ".codes.bin"))


# ---- ONNX Runtime's QDQ layout, built by hand -----------------------------------------------
class QdqBuilder:
    """Nodes and initializers of a QDQ graph, and its simulation on NumPy / torch tensors."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base):
        self.count += 1
        return "%s_%d" % (base, self.count)

    def const(self, base, array):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def qdq(self, x, grid, value):
        """Q then DQ of activation x (uint8 grid); `value` is the simulation's tensor."""
        s, z = grid
        sn, zn = self.const("scale", np.float32(s)), self.const("zero", np.uint8(z))
        q, dq = self.name("q"), self.name("dq")
        self.nodes += [helper.make_node("QuantizeLinear", [x, sn, zn], [q], name=q),
                       helper.make_node("DequantizeLinear", [q, sn, zn], [dq], name=dq)]
        code = np.clip(np.round(value.numpy() / np.float32(s)) + z, 0, 255)  # np.round: half to even
        return dq, torch.from_numpy(((code - z) * np.float32(s)).astype(np.float32))

    def weight(self, w, scales, axis=0):
        """An int8 initializer, symmetric, its DequantizeLinear along `axis`; returns the name,
        the dequantized tensor and the codes."""
        shape = [-1 if k == axis else 1 for k in range(w.ndim)]
        codes = np.clip(np.round(w / scales.reshape(shape)), -128, 127).astype(np.int8)
        wn = self.const("w", codes)
        sn, zn = self.const("w_scale", scales), self.const("w_zero", np.zeros(len(scales), np.int8))
        dq = self.name("dq_w")
        self.nodes.append(helper.make_node("DequantizeLinear", [wn, sn, zn], [dq], name=dq, axis=axis))
        return dq, torch.from_numpy(codes.astype(np.float32) * scales.reshape(shape)), codes

    def bias(self, b, scale):
        """An int32 initializer at `scale` (per output channel), its DequantizeLinear."""
        codes = np.round(b / scale).astype(np.int32)
        bn, sn = self.const("b", codes), self.const("b_scale", scale.astype(np.float32))
        dq = self.name("dq_b")
        self.nodes.append(helper.make_node("DequantizeLinear", [bn, sn], [dq], name=dq, axis=0))
        return dq, torch.from_numpy((codes * scale).astype(np.float32))

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def model(self, x_shape, y_shape, opset=13):
        g = helper.make_graph(self.nodes, "qdq", [helper.make_tensor_value_info("image", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info(self.nodes[-1].output[0], TensorProto.FLOAT, y_shape)],
                              self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="gen_qdq_models")
        m.ir_version = 7
        onnx.checker.check_model(m)
        return m


def grid_of(t):
    return uint8_grid(t.min().item(), t.max().item())


def ort_fixture(out):
    rng = np.random.default_rng(11)
    x = torch.from_numpy((rng.random((N_IMAGES, 2, 10, 10)) * 4 - 2).astype(np.float32))
    w1 = (rng.standard_normal((6, 2, 3, 3)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((6, 6, 1, 1)) * 0.4).astype(np.float32)
    wf = (rng.standard_normal((4, 6)) * 0.5).astype(np.float32)
    b1, b2, bf = (rng.standard_normal(6) * 0.2), (rng.standard_normal(6) * 0.2), (rng.standard_normal(4) * 0.2)

    # The grids: from the float network on these inputs (a calibration, as ORT's quantizer runs one).
    def float_net(x):
        a = F.relu(F.conv2d(x, torch.from_numpy(w1), torch.from_numpy(b1).float(), padding=1))
        p = F.max_pool2d(a, 2)
        c = F.conv2d(p, torch.from_numpy(w2), torch.from_numpy(b2).float())
        s = p + c
        g = s.mean(dim=(2, 3))
        return [x, a, c, s, g, F.linear(g, torch.from_numpy(wf), torch.from_numpy(bf).float())]

    grids = [grid_of(t) for t in float_net(x)]
    g_in, g_a, g_c, g_add, g_pool, g_out = grids
    B = QdqBuilder()
    t, v = B.qdq("image", g_in, x)
    s1 = channel_scales(w1)
    wn, wv, c1 = B.weight(w1, s1)
    bn, bv = B.bias(b1, np.float32(g_in[0]) * s1)
    conv = B.node("Conv", [t, wn, bn], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    v = F.conv2d(v, wv, bv, padding=1)
    t, v = B.qdq(conv, g_a, v)  # the conv's output grid, ReLU after it on the same grid
    t, v = B.qdq(B.node("Relu", [t]), g_a, F.relu(v))
    t, v = B.qdq(B.node("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2]), g_a, F.max_pool2d(v, 2))
    pool_t, pool_v = t, v
    s2 = channel_scales(w2)
    wn, wv, c2 = B.weight(w2, s2)
    bn, bv = B.bias(b2, np.float32(g_a[0]) * s2)
    t, v = B.qdq(B.node("Conv", [t, wn, bn], kernel_shape=[1, 1]), g_c, F.conv2d(v, wv, bv))
    t, v = B.qdq(B.node("Add", [pool_t, t]), g_add, pool_v + v)
    t, v = B.qdq(B.node("GlobalAveragePool", [t]), g_pool, v.mean(dim=(2, 3), keepdim=True))
    t = B.node("Flatten", [t], axis=1)
    v = v.flatten(1)
    sf = channel_scales(wf)
    wn, wv, cf = B.weight(wf, sf)
    bn, bv = B.bias(bf, np.float32(g_pool[0]) * sf)
    t, v = B.qdq(B.node("Gemm", [t, wn, bn], transB=1), g_out, F.linear(v, wv, bv))
    onnx.save(B.model([1, 2, 10, 10], [1, 4]), os.path.join(out, "qdq_ort.onnx"))
    write_io(out, "qdq_ort", x.numpy(), v.numpy(), np.concatenate([c1.ravel(), c2.ravel(), cf.ravel()]))
    return "qdq_ort 2 10 10 4\n"


# ---- files flynet refuses ----------------------------------------------------------------
def bad_fixture(out, name, act_scale=None, w_dtype=np.int8, w_zero=0, other_dq_scale=False, bn=False, opset=13):
    """input -> Q/DQ -> Conv(DQ(int8 w)) [-> BN] -> Relu -> GlobalAveragePool -> Flatten, with one
    fault: per-channel activation scales, asymmetric or int32 weights, a DequantizeLinear whose
    scale is not its QuantizeLinear's, a batch norm after the quantized conv, opset 11."""
    B = QdqBuilder()
    sn = B.const("scale", np.float32(0.02) if act_scale is None else act_scale)
    zn = B.const("zero", np.uint8(128) if act_scale is None else np.full(act_scale.shape, 128, np.uint8))
    q = B.node("QuantizeLinear", ["image", sn, zn], **({} if act_scale is None else {"axis": 1}))
    if other_dq_scale:
        sn = B.const("scale", np.float32(0.03))
    dq = B.node("DequantizeLinear", [q, sn, zn], **({} if act_scale is None else {"axis": 1}))
    codes = np.arange(4 * 3 * 9).reshape(4, 3, 3, 3) % 17 - 8
    wn = B.const("w", codes.astype(w_dtype))
    per_channel = opset >= 13  # opsets before 13 have no axis: one weight scale
    ws = B.const("w_scale", np.full(4, 0.01, np.float32) if per_channel else np.float32(0.01))
    wz = B.const("w_zero", np.full(4, w_zero, w_dtype) if per_channel else w_dtype(w_zero))
    w = B.node("DequantizeLinear", [wn, ws, wz], **({"axis": 0} if per_channel else {}))
    t = B.node("Conv", [dq, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    if bn:
        ones, zeros = B.const("g", np.ones(4, np.float32)), B.const("z", np.zeros(4, np.float32))
        t = B.node("BatchNormalization", [t, ones, zeros, zeros, ones])
    t = B.node("Flatten", [B.node("GlobalAveragePool", [B.node("Relu", [t])])], axis=1)
    onnx.save(B.model([1, 3, 8, 8], [1, 4], opset), os.path.join(out, name + ".onnx"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    lines = [torch_fixture(out), qat_fixture(out), ort_fixture(out)]
    with open(os.path.join(out, "qdq_manifest.txt"), "w") as f:
        f.writelines(lines)
    bad_fixture(out, "qdq_bad_per_channel_act", act_scale=np.array([0.02, 0.03, 0.04], np.float32))
    bad_fixture(out, "qdq_bad_asymmetric_weight", w_zero=3)
    bad_fixture(out, "qdq_bad_int32_weight", w_dtype=np.int32)
    bad_fixture(out, "qdq_bad_other_scale", other_dq_scale=True)
    bad_fixture(out, "qdq_bad_batchnorm", bn=True)
    bad_fixture(out, "qdq_bad_opset11", opset=11)


if __name__ == "__main__":
    main()
