#!/usr/bin/python3
"""Seeds of the onnx fuzz target: tiny valid ONNX models, written with Debian's python3-onnx.

Usage: /usr/bin/python3 gen_onnx_seeds.py OUT_DIR   (the committed seeds: tests/fuzz/corpus/onnx)

Each model has a few hundred bytes and imports with `flynet import`; together they reach every
op the importer maps (Conv, BatchNormalization, the activations, Add, the squeeze-and-excitation
Mul, x * HardSigmoid(x), the pools, Flatten/Reshape/Squeeze, Gemm/MatMul, Pad, Transpose,
Identity, Dropout, Constant). Weights are small fixed numbers, so the files never change.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tensor(name, shape, step=0.125):
    n = int(np.prod(shape))
    v = ((np.arange(n) % 7) - 3) * step
    return numpy_helper.from_array(v.astype(np.float32).reshape(shape), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(name, nodes, inits, in_shape, out_shape, opset=13):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="flynet-fuzz-seed")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def conv_gemm():
    # Conv + Relu + GlobalAveragePool + Flatten + Gemm(transB).
    n = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c1"], ["r1"]),
         helper.make_node("GlobalAveragePool", ["r1"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"], axis=1),
         helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1)]
    i = [tensor("w1", [2, 1, 3, 3]), tensor("b1", [2]), tensor("w2", [3, 2]), tensor("b2", [3])]
    return model("conv_gemm", n, i, [1, 1, 8, 8], [1, 3])


def residual():
    # Conv + BatchNormalization + Clip (ReLU6) + Add (residual) + MaxPool + ReduceMean + Reshape + MatMul.
    n = [helper.make_node("Conv", ["x", "w1"], ["c1"], kernel_shape=[1, 1]),
         helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"]),
         helper.make_node("Clip", ["n1", "lo", "hi"], ["a1"]),
         helper.make_node("Add", ["a1", "x"], ["s"]),
         helper.make_node("MaxPool", ["s"], ["mp"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("ReduceMean", ["mp"], ["rm"], axes=[2, 3], keepdims=1),
         helper.make_node("Reshape", ["rm", "shape"], ["f"]),
         helper.make_node("MatMul", ["f", "w2"], ["y"])]
    lo = numpy_helper.from_array(np.array(0, dtype=np.float32), "lo")
    hi = numpy_helper.from_array(np.array(6, dtype=np.float32), "hi")
    var = numpy_helper.from_array(np.full([2], 0.5, dtype=np.float32), "v")
    i = [tensor("w1", [2, 2, 1, 1]), tensor("g", [2]), tensor("b", [2]), tensor("m", [2]), var, lo, hi,
         ints("shape", [1, 2]), tensor("w2", [2, 4])]
    return model("residual", n, i, [1, 2, 8, 8], [1, 4])


def squeeze_excite():
    # Pad (of zero width, as exporters leave it) + depthwise Conv + HardSigmoid*x (h-swish) + squeeze-and-excitation gate (Mul) +
    # AveragePool over the whole map + Squeeze + Dropout + Identity + Gemm.
    n = [helper.make_node("Pad", ["x", "pads"], ["px"]),
         helper.make_node("Conv", ["px", "dw"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=2),
         helper.make_node("HardSigmoid", ["c1"], ["hs"], alpha=1.0 / 6, beta=0.5),
         helper.make_node("Mul", ["c1", "hs"], ["h"]),
         helper.make_node("GlobalAveragePool", ["h"], ["g"]),
         helper.make_node("Sigmoid", ["g"], ["gate"]),
         helper.make_node("Mul", ["h", "gate"], ["se"]),
         helper.make_node("AveragePool", ["se"], ["ap"], kernel_shape=[8, 8]),
         helper.make_node("Squeeze", ["ap", "axes"], ["sq"]),
         helper.make_node("Dropout", ["sq"], ["d"]),
         helper.make_node("Identity", ["d"], ["id"]),
         helper.make_node("Gemm", ["id", "w2"], ["y"])]
    i = [ints("pads", [0] * 8), tensor("dw", [2, 1, 3, 3]), ints("axes", [2, 3]), tensor("w2", [2, 3])]
    return model("squeeze_excite", n, i, [1, 2, 8, 8], [1, 3])


def nhwc_constant():
    # An NHWC input transposed to NCHW, HardSwish (opset 14), a Constant weight.
    n = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["t", "w1"], ["c1"], kernel_shape=[1, 1], strides=[2, 2]),
         helper.make_node("HardSwish", ["c1"], ["a"]),
         helper.make_node("GlobalAveragePool", ["a"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Constant", [], ["w2"], value=tensor("w2v", [3, 2])),
         helper.make_node("Gemm", ["f", "w2"], ["y"])]
    return model("nhwc_constant", n, [tensor("w1", [3, 3, 1, 1])], [1, 8, 8, 3], [1, 2], opset=14)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for make in (conv_gemm, residual, squeeze_excite, nhwc_constant):
        m = make()
        with open(os.path.join(out, m.graph.name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
