#!/usr/bin/python3
"""Writes the ONNX seeds of the onnx_summary harness into fuzz/corpus/onnx_summary/: a graph with
an inline and an external initializer (com.microsoft MatMulNBits, symbolic dims) and one with
subgraphs (If). Run with Debian's python3 (python3-onnx): /usr/bin/python3 fuzz/make_onnx_seeds.py"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx_summary")

w = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(2, 4), "w")
ext = onnx.TensorProto()
ext.name = "e"
ext.data_type = TensorProto.FLOAT
ext.dims.extend([2, 4])
ext.data_location = TensorProto.EXTERNAL
for k, v in (("location", "model.onnx_data"), ("offset", "0"), ("length", "32")):
    e = ext.external_data.add()
    e.key, e.value = k, v
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
nodes = [helper.make_node("Add", ["x", "w"], ["t"]),
         helper.make_node("MatMulNBits", ["t", "e"], ["y"], domain="com.microsoft", K=4, N=4, bits=4, block_size=32)]
g = helper.make_graph(nodes, "g", [x], [y], [w, ext])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
with open(os.path.join(OUT, "external.onnx"), "wb") as f:
    f.write(m.SerializeToString())

then = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "then", [],
                         [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
cond = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
g2 = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)], "g2", [cond, x], [y])
with open(os.path.join(OUT, "subgraph.onnx"), "wb") as f:
    f.write(helper.make_model(g2).SerializeToString())
