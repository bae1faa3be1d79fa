#!/usr/bin/python3
"""Writes a full-size Gemma 4 E2B-shaped package with random INT4 weights, for benchmarks.

  /usr/bin/python3 tools/testmodel/make_full_size.py OUT_DIR [--dtype q4 [--dtype q4f16]]
      [--layout community|text] [--no-logits-to-keep] [--reduced] [--seed S]

Speed depends on shapes and operators, not on weight values, so this package has the real E2B
dimensions and operator set but random weights (its text is gibberish):
  35 layers, hidden 1536, 8 query heads / 1 KV head, head_dim 256 (sliding) and 512 (full, every
  5th layer), sliding window 512, the last 20 layers KV-shared with a double-wide MLP (12288 instead
  of 6144), per-layer inputs 35 x 256 from a 262144 x 8960 table, vocab 262144 with a tied-shape,
  softcapped LM head.
Operators as the INT4 export uses them (ONNX Runtime contrib ops, docs/ContribOperators.md):
  - com.microsoft.MatMulNBits (bits 4, block 32, accuracy_level 4) for every linear layer and the
    LM head;
  - com.microsoft.GatherBlockQuantized (uint8 data, bits 4, default zero point 8, gather_axis 0,
    quantize_axis 1) for both embedding tables;
  - com.microsoft.GroupQueryAttention for the 15 layers that own a KV cache (seqlens_k and
    total_sequence_length derived from attention_mask, local_window_size on sliding layers);
  - the 20 KV-shared layers have no new keys/values to append, which GroupQueryAttention requires,
    so they attend over the source layer's present.* with plain MatMul/Softmax and a mask.
Packed weights are random 4-bit codes (centred on the zero point) written in large chunks straight
into the `.onnx_data` sidecars (no full-size array is ever held in memory); scales are constant per tensor (1 / (4.18 sqrt(K)),
4.18 being the std of a code), which keeps activations in range through 35 layers.
Same I/O contract as tools/testmodel/make_test_model.py (names, dtypes, shapes, layouts), so
tests/refs/reference_loop.mjs and tests/refs/tjs_generate.mjs run it too.

--reduced writes the same graph structure and operator set at tiny dimensions (seconds, a few MB);
the test suite uses it to check parity of `gemma4 run` with the reference loop.

Variants: the forms the public onnx-community export may take (ISSUE: the real package cannot be
downloaded here), each keeping the I/O contract and a real computation:
  --lm-head int4|int8|fp16|fp32   MatMulNBits at 4 (default) or 8 bits, or a float [hidden, vocab]
                                  MatMul (a Cast in front where the weight is fp16 and the graph fp32);
  --norm reciprocal|fused|decomposed|pow   RMSNorm as x * Reciprocal(Sqrt(mean + eps)) (default),
                                  SimplifiedLayerNormalization, x / Sqrt(mean(Pow(x, 2)) + eps), or
                                  x * Pow(mean + eps, -0.5);
  --shared-attention matmul|mha|attention  the KV-shared layers: MatMul/Softmax with a bool mask
                                  (default), com.microsoft.MultiHeadAttention with an additive
                                  attention_bias, or ONNX Attention (opset 23) with grouped KV heads;
  --rope explicit|fused           RoPE from cos/sin tables of position_ids (default), or
                                  com.microsoft.RotaryEmbedding nodes with [max_positions, hd/2] caches;
  --zero-points                   every MatMulNBits carries a zero_points input (random, 7..9);
  --layer-scalar                  each layer's output is multiplied by its own scalar;
  --no-logits-to-keep             no num_logits_to_keep input.
Never commit the output: the q4 package is about 3.1 GB.
"""
import argparse
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

import bpe  # noqa: E402
import graphs  # noqa: E402
import package_files as pf  # noqa: E402
from spec import ModelSpec  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {"q4": ("_q4", np.float32), "q4f16": ("_q4f16", np.float16)}
CHUNK = 64 << 20      # bytes of random data generated and written at a time
ALIGN = 4096          # sidecar offset alignment (page size, so ONNX Runtime can map tensors)
UNIFORM_CODE_STD = 4.18  # std of a centred code (see Sidecar.random_codes) around the zero point 8


def _centered_code_table():
    """Maps a random byte to a byte of two codes where a 0 nibble became 8 (see random_codes)."""
    v = np.arange(256)
    lo, hi = v & 15, v >> 4
    lo, hi = np.where(lo == 0, 8, lo), np.where(hi == 0, 8, hi)
    return (lo | (hi << 4)).astype(np.uint8)


CENTERED_CODES = _centered_code_table()
# 8-bit codes: a 0 byte becomes 128, so the codes 1..255 plus that extra 128 have mean 128 (the zero point).
CENTERED_CODES8 = np.where(np.arange(256) == 0, 128, np.arange(256)).astype(np.uint8)
UNIFORM_CODE8_STD = 73.47  # sqrt(sum_{j=-127..127} j^2 / 256)

# The real Gemma 4 E2B text dimensions (config.json of the export) and a tiny stand-in.
FULL = dict(vocab_size=262144, hidden_size=1536, intermediate_size=6144, num_layers=35, num_kv_shared_layers=20,
            num_attention_heads=8, num_key_value_heads=1, head_dim=256, global_head_dim=512, per_layer_dim=256,
            full_every=5, sliding_window=512, max_position_embeddings=131072)
REDUCED = dict(vocab_size=None, hidden_size=64, intermediate_size=128, num_layers=7, num_kv_shared_layers=3,
               num_attention_heads=4, num_key_value_heads=1, head_dim=32, global_head_dim=64, per_layer_dim=32,
               full_every=3, sliding_window=8, max_position_embeddings=4096)


class Sidecar:
    """One `.onnx_data` file, appended to tensor by tensor; returns external TensorProtos."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.f = open(path, "wb")
        self.offset = 0

    def _begin(self):
        pad = (-self.offset) % ALIGN
        if pad:
            self.f.write(b"\0" * pad)
            self.offset += pad
        return self.offset

    def _proto(self, name, elem_type, dims, start):
        t = TensorProto()
        t.name = name
        t.data_type = elem_type
        t.dims.extend(int(d) for d in dims)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.name), ("offset", str(start)), ("length", str(self.offset - start))):
            e = t.external_data.add()
            e.key, e.value = key, value
        return t

    def random_codes(self, name, dims, rng, table=CENTERED_CODES):
        """uint8 tensor of two random 4-bit codes per byte, each uniform over 1..15 plus an extra
        chance of 8: mean exactly 8, the zero point, so weights have no common offset (which
        would add the same direction to every output and make greedy decoding repeat one id)."""
        start = self._begin()
        left = int(np.prod(dims))
        while left:
            n = min(left, CHUNK)
            self.f.write(np.take(table, np.frombuffer(rng.bytes(n), dtype=np.uint8)).tobytes())
            self.offset += n
            left -= n
        return self._proto(name, TensorProto.UINT8, dims, start)

    def array(self, name, arr):
        """A whole (small) numpy array."""
        start = self._begin()
        data = np.ascontiguousarray(arr).tobytes()
        self.f.write(data)
        self.offset += len(data)
        return self._proto(name, ONNX_TYPES[np.dtype(arr.dtype)], arr.shape, start)

    def random_normal(self, name, dims, std, np_dtype, rng):
        """Gaussian values (mean 0, `std`) of `np_dtype`, generated and written in chunks."""
        start = self._begin()
        left = int(np.prod(dims))
        per = CHUNK // 4
        while left:
            n = min(left, per)
            chunk = rng.standard_normal(n, dtype=np.float32) * np.float32(std)
            self.f.write(chunk.astype(np_dtype).tobytes())
            self.offset += n * np.dtype(np_dtype).itemsize
            left -= n
        return self._proto(name, ONNX_TYPES[np.dtype(np_dtype)], dims, start)

    def constant(self, name, dims, value, np_dtype):
        start = self._begin()
        left = int(np.prod(dims))
        block = np.full(min(left, CHUNK // 4), value, dtype=np_dtype).tobytes()
        per = len(block) // np.dtype(np_dtype).itemsize
        while left:
            n = min(left, per)
            self.f.write(block[:n * np.dtype(np_dtype).itemsize])
            self.offset += n * np.dtype(np_dtype).itemsize
            left -= n
        onnx_type = TensorProto.FLOAT16 if np.dtype(np_dtype) == np.float16 else TensorProto.FLOAT
        return self._proto(name, onnx_type, dims, start)

    def close(self):
        self.f.close()


ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float16): TensorProto.FLOAT16,
              np.dtype(np.uint8): TensorProto.UINT8}


def code_scale(k, bits=4):
    """A per-tensor scale that gives x @ W unit gain for unit inputs."""
    return 1.0 / ((UNIFORM_CODE_STD if bits == 4 else UNIFORM_CODE8_STD) * np.sqrt(k))


class FullSizeBuilder(graphs.GraphBuilder):
    """GraphBuilder whose linear layers and tables are random INT4 written to a sidecar."""

    def __init__(self, name, dtype, sidecar, rng, block_size=32, accuracy_level=4, norm="reciprocal",
                 opset=graphs.OPSET, zero_points=False):
        super().__init__(name, dtype, quantized=True, block_size=block_size, accuracy_level=accuracy_level,
                         norm=norm, opset=opset)
        self.sidecar = sidecar
        self.rng = rng
        self.zero_points = zero_points

    def _scales(self, name, count, k, bits=4):
        return self.sidecar.constant(name, [count], code_scale(k, bits), self.np_dtype)

    def _zero_points(self, name, n, blocks, bits):
        """Random zero points one code either side of the codes' mean (7..9, or 127..129 at 8 bits),
        so each block gets its own small offset and no direction is common to every output.
        MatMulNBits's layout: uint8 [N, ceil(blocks * bits / 8)], 4-bit ones two blocks a byte,
        the even block in the low nibble."""
        mid = 8 if bits == 4 else 128
        zp = (mid - 1 + self.rng.integers(0, 3, size=(n, blocks))).astype(np.uint8)
        if bits == 4:
            if blocks % 2:
                zp = np.concatenate([zp, np.full((n, 1), 8, np.uint8)], axis=1)
            zp = zp[:, 0::2] | (zp[:, 1::2] << 4)
        return self.sidecar.array(name, zp.reshape(-1))

    def linear_kn(self, x, name, k, n, bits=4):
        """x [.., k] @ W [k, n] with W random INT4 (MatMulNBits: B [n, blocks, block/2]), or INT8
        with bits 8 (B [n, blocks, block]); zero points as an input with --zero-points."""
        blocks = (k + self.block_size - 1) // self.block_size
        if bits == 4:
            codes = self.sidecar.random_codes(name + ".weight_Q4", [n, blocks, self.block_size // 2], self.rng)
        else:
            codes = self.sidecar.random_codes(name + ".weight_Q8", [n, blocks, self.block_size], self.rng,
                                              table=CENTERED_CODES8)
        self.inits.append(codes)
        self.inits.append(self._scales(name + ".weight_scales", n * blocks, k, bits))
        inputs = [x, codes.name, name + ".weight_scales"]
        if self.zero_points:
            zp = self._zero_points(name + ".weight_zp", n, blocks, bits)
            self.inits.append(zp)
            inputs.append(zp.name)
        return self.op("MatMulNBits", inputs, domain=graphs.MS_DOMAIN,
                       hint=name, attrs={"K": k, "N": n, "bits": bits, "block_size": self.block_size,
                                         "accuracy_level": self.accuracy_level})

    def float_weight(self, name, dims, std, np_dtype):
        t = self.sidecar.random_normal(name, dims, std, np_dtype, self.rng)
        self.inits.append(t)
        return t.name

    def gather_quantized(self, ids, name, rows, cols):
        """Rows of a random INT4 table [rows, cols] (GatherBlockQuantized, uint8 data packed along
        the last axis, low nibble first; no zero_points input, so the zero point is 8)."""
        blocks = cols // self.block_size
        self.inits.append(self.sidecar.random_codes(name + "_quant", [rows, cols // 2], self.rng))
        t = self.sidecar.constant(name + "_scales", [rows, blocks], code_scale(cols), self.np_dtype)
        self.inits.append(t)
        return self.op("GatherBlockQuantized", [name + "_quant", ids, name + "_scales"], domain=graphs.MS_DOMAIN,
                       hint=name, attrs={"bits": 4, "block_size": self.block_size, "gather_axis": 0,
                                         "quantize_axis": 1})


def norm_weight(rng, n):
    return (1.0 + rng.standard_normal(n) * 0.05).astype(np.float32)


def build_embed(spec, sidecar, dtype, rng):
    g = FullSizeBuilder("embed_tokens", dtype, sidecar, rng, spec.block_size, spec.accuracy_level)
    g.add_input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    emb = g.gather_quantized("input_ids", "model.embed_tokens.weight", spec.vocab_size, spec.hidden_size)
    width = spec.num_layers * spec.per_layer_dim
    ple = g.gather_quantized("input_ids", "model.embed_tokens_per_layer.weight", spec.vocab_size, width)
    return graphs.finish_embed(g, spec, emb, ple)


def rotary_caches(g, spec, kind, hd):
    """cos/sin caches [max_positions, hd/2] for com.microsoft.RotaryEmbedding, in the activation
    dtype, with the angles computed in float32 as the explicit form's tables are."""
    theta = spec.rope_theta_sliding if kind == "sliding_attention" else spec.rope_theta_full
    inv_freq = (1.0 / theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd)).astype(np.float32)
    ang = np.arange(spec.max_position_embeddings, dtype=np.float32)[:, None] * inv_freq[None, :]
    names = []
    for fn, what in ((np.cos, "cos"), (np.sin, "sin")):
        t = g.sidecar.array("rotary.%s.%s_cache" % (kind, what), fn(ang).astype(g.np_dtype))
        g.inits.append(t)
        names.append(t.name)
    return names


def fused_rope(g, x, caches, n_heads, hd):
    """RotaryEmbedding (non-interleaved, rotate-half as the explicit form) on x [B,S,n,hd]."""
    flat = g.op("Reshape", [x, g.i64([0, 0, n_heads * hd])])
    y = g.op("RotaryEmbedding", [flat, "position_ids", caches[0], caches[1]],
             {"interleaved": 0, "num_heads": n_heads}, domain=graphs.MS_DOMAIN, hint="rotary_embedding")
    return g.op("Reshape", [y, g.i64([0, 0, n_heads, hd])])


def repeat_kv(g, k, nq, nkv, hd):
    """[B,nkv,T,hd] -> [B,nq,T,hd], each KV head repeated nq/nkv times in place."""
    rep = g.i64([1, 1, nq // nkv, 1, 1])
    return g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [k, g.i64([2])]), rep]), g.i64([0, nq, -1, hd])])


def shared_attention(g, variant, q, k, v, mask, neg, nq, nkv, hd, pre):
    """A KV-shared layer's attention of q [B,S,nq,hd] over the source layer's cache k, v
    [B,nkv,T,hd] under the bool mask [B,1,S,T]; returns [B,S,nq*hd]. The forms the export may use:
    matmul (MatMul/Softmax), mha (com.microsoft.MultiHeadAttention with an additive bias) or
    attention (ONNX Attention, opset 23, bool mask, grouped KV heads)."""
    if variant.shared_attention == "mha":
        if nq != nkv:
            k, v = repeat_kv(g, k, nq, nkv, hd), repeat_kv(g, v, nq, nkv, hd)
        bias = g.op("Where", [mask, g.const(0.0), neg], hint=pre + "attention_bias")
        return g.op("MultiHeadAttention", [g.op("Reshape", [q, g.i64([0, 0, nq * hd])]), k, v, "", "", bias],
                    {"num_heads": nq}, domain=graphs.MS_DOMAIN, hint=pre + "self_attn/MultiHeadAttention")
    qt = g.op("Transpose", [q], {"perm": [0, 2, 1, 3]})                 # [B,nq,S,hd]
    if variant.shared_attention == "attention":
        attn = g.op("Attention", [qt, k, v, mask], {"is_causal": 0}, hint=pre + "self_attn/Attention")
    else:
        if nkv != 1 and nq != nkv:
            k, v = repeat_kv(g, k, nq, nkv, hd), repeat_kv(g, v, nq, nkv, hd)
        scores = g.op("MatMul", [qt, g.op("Transpose", [k], {"perm": [0, 1, 3, 2]})])  # [B,nq,S,T]
        scores = g.op("Mul", [scores, g.const(1.0 / np.sqrt(hd))])
        scores = g.op("Where", [mask, scores, neg], hint=pre + "mask")
        attn = g.op("MatMul", [g.op("Softmax", [scores], {"axis": -1}), v])
    return g.op("Reshape", [g.op("Transpose", [attn], {"perm": [0, 2, 1, 3]}), g.i64([0, 0, nq * hd])])


def lm_head(g, variant, hidden, h, vocab):
    """The LM head in the form --lm-head names: MatMulNBits at 4 or 8 bits, or a float MatMul over a
    [hidden, vocab] fp16/fp32 weight (a Cast where the weight's dtype is not the activations')."""
    if variant.lm_head in ("int4", "int8"):
        return g.linear_kn(hidden, "lm_head", h, vocab, bits=4 if variant.lm_head == "int4" else 8)
    w_dtype = np.float16 if variant.lm_head == "fp16" else np.float32
    w = g.float_weight("lm_head.weight", [h, vocab], 1.0 / np.sqrt(h), w_dtype)
    if np.dtype(w_dtype) == g.np_dtype:
        return g.op("MatMul", [hidden, w], hint="lm_head")
    if g.np_dtype == np.float32:       # fp16 weight, float32 activations
        return g.op("MatMul", [hidden, g.op("Cast", [w], {"to": TensorProto.FLOAT})], hint="lm_head")
    x = g.op("Cast", [hidden], {"to": TensorProto.FLOAT})    # fp32 weight, fp16 activations
    return g.op("Cast", [g.op("MatMul", [x, w], hint="lm_head")], {"to": TensorProto.FLOAT16})


def build_decoder(spec, sidecar, dtype, rng, double_wide, variant):
    # ONNX Attention needs opset 23 (and with it ReduceMean's axes input, which graphs.py handles).
    opset = 23 if variant.shared_attention == "attention" else graphs.OPSET
    g = FullSizeBuilder("decoder_model_merged", dtype, sidecar, rng, spec.block_size, spec.accuracy_level,
                        norm=variant.norm, opset=opset, zero_points=variant.zero_points)
    act = g.onnx_dtype
    h, p, n_layers = spec.hidden_size, spec.per_layer_dim, spec.num_layers
    nq, nkv = spec.num_attention_heads, spec.num_key_value_heads
    eps = spec.rms_norm_eps

    g.add_input("inputs_embeds", act, ["batch_size", "sequence_length", h])
    g.add_input("per_layer_inputs", act, ["batch_size", "sequence_length", n_layers, p])
    g.add_input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
    g.add_input("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    for i in range(spec.num_kv_owning):
        for kv in ("key", "value"):
            g.add_input("past_key_values.%d.%s" % (i, kv), act,
                        ["batch_size", nkv, "past_sequence_length", spec.head_dim_of(i)])
    if spec.logits_to_keep:
        g.add_input("num_logits_to_keep", TensorProto.INT64, [])

    if variant.rope == "fused":
        caches = {kind: rotary_caches(g, spec, kind, spec.head_dim if kind == "sliding_attention"
                                      else spec.global_head_dim) for kind in ("sliding_attention", "full_attention")}
        rope = {kind: (lambda x, n, hd, c=c: fused_rope(g, x, c, n, hd)) for kind, c in caches.items()}
    else:
        pos_f = g.op("Unsqueeze", [g.op("Cast", ["position_ids"], {"to": TensorProto.FLOAT}), g.i64([2])])  # [B,S,1]
        tables = {"sliding_attention": graphs.rope_tables(g, pos_f, spec.head_dim, spec.rope_theta_sliding,
                                                          heads_axis=2),
                  "full_attention": graphs.rope_tables(g, pos_f, spec.global_head_dim, spec.rope_theta_full,
                                                       heads_axis=2)}
        rope = {kind: (lambda x, n, hd, t=t: graphs._apply_rope(g, x, t[0], t[1], hd)) for kind, t in tables.items()}

    # GroupQueryAttention reads lengths, not a mask: seqlens_k = sum(mask) - 1, total = mask length.
    mask_sum = g.op("ReduceSum", ["attention_mask", g.i64([1])], {"keepdims": 0})
    seqlens_k = g.op("Cast", [g.op("Sub", [mask_sum, g.i64(1)])], {"to": TensorProto.INT32}, hint="seqlens_k")
    total_len = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.i64(1)], {"axis": 0})
    total_len_i32 = g.op("Cast", [total_len], {"to": TensorProto.INT32}, hint="total_sequence_length")

    # Masks for the KV-shared layers' plain attention [B,1,S,T], index based (query i at T - S + i).
    seq_len = g.op("Gather", [g.op("Shape", ["inputs_embeds"]), g.i64(1)], {"axis": 0})
    q_idx = g.op("Unsqueeze", [g.op("Add", [g.op("Range", [g.i64(0), seq_len, g.i64(1)]),
                                            g.op("Sub", [total_len, seq_len])]), g.i64([1])])
    k_idx = g.op("Unsqueeze", [g.op("Range", [g.i64(0), total_len, g.i64(1)]), g.i64([0])])
    causal = g.op("LessOrEqual", [k_idx, q_idx])
    padding = g.op("Unsqueeze", [g.op("Equal", ["attention_mask", g.i64(1)]), g.i64([1, 2])])
    full_mask = g.op("And", [causal, padding], hint="full_mask")
    in_window = g.op("Less", [g.op("Sub", [q_idx, k_idx]), g.i64(spec.sliding_window)])
    masks = {"full_attention": full_mask,
             "sliding_attention": g.op("And", [full_mask, in_window], hint="sliding_mask")}
    # (ONNX Attention takes the bool mask itself: no fill value, which would be an unused initializer.)
    neg = None if variant.shared_attention == "attention" else g.const(-1e9 if act == TensorProto.FLOAT else -30000.0)

    plp = g.linear_kn("inputs_embeds", "per_layer_model_projection", h, n_layers * p)
    plp = g.op("Reshape", [plp, g.i64([0, 0, n_layers, p])])
    plp = g.rms_norm(plp, "per_layer_projection_norm.weight", norm_weight(rng, p), eps)
    per_layer = g.op("Mul", [g.op("Add", [plp, "per_layer_inputs"]), g.const(1.0 / np.sqrt(2.0))],
                     hint="per_layer_inputs_combined")

    hidden = "inputs_embeds"
    kv_cache = {}
    for i in range(n_layers):
        pre = "model.layers.%d." % i
        kind = spec.layer_types[i]
        hd = spec.head_dim_of(i)
        x = g.rms_norm(hidden, pre + "input_layernorm.weight", norm_weight(rng, h), eps)
        q = g.op("Reshape", [g.linear_kn(x, pre + "self_attn.q_proj", h, nq * hd), g.i64([0, 0, nq, hd])])
        q = rope[kind](g.rms_norm(q, pre + "self_attn.q_norm.weight", norm_weight(rng, hd), eps), nq, hd)  # [B,S,nq,hd]
        if i < spec.num_kv_owning:
            k = g.op("Reshape", [g.linear_kn(x, pre + "self_attn.k_proj", h, nkv * hd), g.i64([0, 0, nkv, hd])])
            k = rope[kind](g.rms_norm(k, pre + "self_attn.k_norm.weight", norm_weight(rng, hd), eps), nkv, hd)
            v = g.linear_kn(x, pre + "self_attn.v_proj", h, nkv * hd)
            attn, present_k, present_v = g.op(
                "GroupQueryAttention",
                [g.op("Reshape", [q, g.i64([0, 0, nq * hd])]), g.op("Reshape", [k, g.i64([0, 0, nkv * hd])]), v,
                 "past_key_values.%d.key" % i, "past_key_values.%d.value" % i, seqlens_k, total_len_i32],
                {"num_heads": nq, "kv_num_heads": nkv,
                 "local_window_size": spec.sliding_window if kind == "sliding_attention" else -1},
                hint=pre + "self_attn/GroupQueryAttention", outputs=3, domain=graphs.MS_DOMAIN)
            kv_cache[i] = (present_k, present_v)
            g.add_output("present.%d.key" % i, present_k, act, ["batch_size", nkv, "total_sequence_length", hd])
            g.add_output("present.%d.value" % i, present_v, act, ["batch_size", nkv, "total_sequence_length", hd])
        else:
            k, v = kv_cache[spec.kv_source(i)]                                  # [B,nkv,T,hd]
            attn = shared_attention(g, variant, q, k, v, masks[kind], neg, nq, nkv, hd, pre)
        attn = g.linear_kn(attn, pre + "self_attn.o_proj", nq * hd, h)
        attn = g.rms_norm(attn, pre + "post_attention_layernorm.weight", norm_weight(rng, h), eps)
        hidden = g.op("Add", [hidden, attn], hint=pre + "residual_attn")

        inter = spec.intermediate_size * (2 if double_wide and i >= spec.num_kv_owning else 1)
        x = g.rms_norm(hidden, pre + "pre_feedforward_layernorm.weight", norm_weight(rng, h), eps)
        gate = g.gelu_tanh(g.linear_kn(x, pre + "mlp.gate_proj", h, inter))
        up = g.linear_kn(x, pre + "mlp.up_proj", h, inter)
        mlp = g.linear_kn(g.op("Mul", [gate, up]), pre + "mlp.down_proj", inter, h)
        mlp = g.rms_norm(mlp, pre + "post_feedforward_layernorm.weight", norm_weight(rng, h), eps)
        hidden = g.op("Add", [hidden, mlp], hint=pre + "residual_mlp")

        pli = g.op("Gather", [per_layer, g.i64(i)], {"axis": 2})
        gated = g.op("Mul", [g.gelu_tanh(g.linear_kn(hidden, pre + "per_layer_input_gate", h, p)), pli])
        gated = g.linear_kn(gated, pre + "per_layer_projection", p, h)
        gated = g.rms_norm(gated, pre + "post_per_layer_input_norm.weight", norm_weight(rng, h), eps)
        hidden = g.op("Add", [hidden, gated], hint=pre + "residual_per_layer")
        if variant.layer_scalar:
            # A learned per-layer scalar on the layer's output (--layer-scalar).
            hidden = g.op("Mul", [hidden, g.const(rng.uniform(0.8, 1.25))], hint=pre + "layer_scalar")

    hidden = g.rms_norm(hidden, "model.norm.weight", norm_weight(rng, h), eps)
    if spec.logits_to_keep:
        start = g.op("Neg", [g.op("Reshape", ["num_logits_to_keep", g.i64([1])])])
        hidden = g.op("Slice", [hidden, start, g.i64([2 ** 62]), g.i64([1])], hint="keep_last_logits")
    logits = lm_head(g, variant, hidden, h, spec.vocab_size)
    cap = spec.final_logit_softcapping
    logits = g.op("Mul", [g.op("Tanh", [g.op("Mul", [logits, g.const(1.0 / cap)])]), g.const(cap)], hint="softcap")
    g.add_output("logits", logits, act, ["batch_size", "logits_length" if spec.logits_to_keep else "sequence_length",
                                         spec.vocab_size])
    return g.model()


def pad_vocab(tokenizer, size):
    """Extends the small test tokenizer to the model's vocabulary with plain word pieces, so that
    every id the model can produce decodes (runtimes check ids against the tokenizer)."""
    vocab = tokenizer["model"]["vocab"]
    for i in range(len(vocab), size):
        vocab["\u2581w%d" % i] = i


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", action="append", choices=sorted(DTYPES), help="q4 and/or q4f16 (default q4)")
    ap.add_argument("--layout", choices=["community", "text"], default="community",
                    help="community (default: what transformers.js loads) or text")
    ap.add_argument("--no-logits-to-keep", action="store_true", help="decoder without num_logits_to_keep")
    ap.add_argument("--reduced", action="store_true", help="tiny dimensions, same graph structure and operators")
    ap.add_argument("--no-double-wide", action="store_true", help="KV-shared layers keep the normal MLP width")
    ap.add_argument("--seed", type=int, default=0)
    # The forms the public export may take (see the module docstring's "Variants").
    ap.add_argument("--lm-head", choices=["int4", "int8", "fp16", "fp32"], default="int4",
                    help="LM head: MatMulNBits 4 or 8 bits, or a float MatMul over a [hidden, vocab] weight")
    ap.add_argument("--norm", choices=list(graphs.NORM_FORMS), default="reciprocal",
                    help="how RMSNorm is written (fused: SimplifiedLayerNormalization)")
    ap.add_argument("--shared-attention", choices=["matmul", "mha", "attention"], default="matmul",
                    help="the KV-shared layers' attention: MatMul/Softmax, MultiHeadAttention or ONNX Attention")
    ap.add_argument("--rope", choices=["explicit", "fused"], default="explicit",
                    help="RoPE as Mul/Slice/Concat on cos/sin tables, or com.microsoft.RotaryEmbedding nodes")
    ap.add_argument("--zero-points", action="store_true", help="MatMulNBits weights with a zero_points input")
    ap.add_argument("--layer-scalar", action="store_true", help="a scalar multiplies each layer's output")
    args = ap.parse_args(argv)
    args.dtype = args.dtype or ["q4"]
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    tokenizer, tok_config, tok_vocab = bpe.build(1536)
    dims = dict(REDUCED if args.reduced else FULL)
    if dims["vocab_size"] is None:
        dims["vocab_size"] = tok_vocab
    spec = ModelSpec(block_size=32, accuracy_level=4, logits_to_keep=not args.no_logits_to_keep,
                     position_signal=0.0, seed=args.seed, **dims)
    ids = {"pad": 0, "eos": 1, "bos": 2, "turn_end": 106, "tool_response": 50, "image": 103, "audio": 104}
    vocab = tokenizer["model"]["vocab"]
    assert all(vocab[k] == v for k, v in (("<pad>", 0), ("<eos>", 1), ("<bos>", 2), ("<turn|>", 106)))
    pad_vocab(tokenizer, spec.vocab_size)

    out = args.out_dir
    onnx_dir = os.path.join(out, "onnx")
    if os.path.isdir(onnx_dir):
        shutil.rmtree(onnx_dir)
    os.makedirs(onnx_dir, exist_ok=True)
    chunks = {}
    for name in args.dtype:
        suffix, act = DTYPES[name]
        for i, (base, build) in enumerate((("embed_tokens", build_embed), ("decoder_model_merged", build_decoder))):
            file_name = base + suffix + ".onnx"
            rng = np.random.default_rng([args.seed, i])
            sidecar = Sidecar(os.path.join(onnx_dir, file_name + "_data"))
            try:
                if build is build_embed:
                    model = build(spec, sidecar, act, rng)
                else:
                    model = build(spec, sidecar, act, rng, double_wide=not args.no_double_wide, variant=args)
            finally:
                sidecar.close()
            with open(os.path.join(onnx_dir, file_name), "wb") as f:
                f.write(model.SerializeToString())
            chunks[file_name] = 1
            print("%s: %.2f GB sidecar (%.0f s)" % (file_name, sidecar.offset / 1e9, time.time() - t0), flush=True)

    config = pf.text_config(spec, ids) if args.layout == "text" else pf.community_config(spec, ids, chunks)
    text = config if args.layout == "text" else config["text_config"]
    text["use_double_wide_mlp"] = not args.no_double_wide
    pf.write_json(os.path.join(out, "config.json"), config)
    pf.write_json(os.path.join(out, "generation_config.json"), pf.generation_config(ids))
    pf.write_json(os.path.join(out, "tokenizer.json"), tokenizer)
    with open(os.path.join(HERE, "chat_template.jinja"), encoding="utf-8") as f:
        template = f.read()
    tok_config["chat_template"] = template
    pf.write_json(os.path.join(out, "tokenizer_config.json"), tok_config)
    with open(os.path.join(out, "chat_template.jinja"), "w", encoding="utf-8") as f:
        f.write(template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
