"""ONNX graphs with the I/O contract of the Gemma 4 E2B export: embed_tokens and
decoder_model_merged (plus tiny vision/audio stand-ins). Every graph is a real computation."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from quant import quantize_int4

OPSET = 17
MS_DOMAIN = "com.microsoft"
# How an RMSNorm is written. The export's forms differ (docs of make_full_size.py --norm); every one
# computes x / sqrt(mean(x^2) + eps) * w over the last axis in float32.
NORM_FORMS = ("reciprocal", "fused", "decomposed", "pow")


class GraphBuilder:
    """Appends nodes with generated names; `dtype` is the activation type (float32 or float16)."""

    def __init__(self, name, dtype, quantized, block_size=32, accuracy_level=0, norm="reciprocal", opset=OPSET):
        if norm not in NORM_FORMS:
            raise ValueError("unknown norm form %r" % norm)
        self.name = name
        self.norm = norm
        self.opset = opset
        self.np_dtype = np.dtype(dtype)
        self.onnx_dtype = TensorProto.FLOAT16 if self.np_dtype == np.float16 else TensorProto.FLOAT
        self.quantized = quantized
        self.block_size = block_size
        self.accuracy_level = accuracy_level
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.counter = 0
        self.consts = {}

    def fresh(self, hint):
        self.counter += 1
        return "/%s_%d" % (hint, self.counter)

    def op(self, op_type, inputs, attrs=None, hint=None, outputs=1, domain=None):
        hint = hint or op_type
        outs = [self.fresh(hint + "/out") for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(hint), domain=domain,
                                           **(attrs or {})))
        return outs[0] if outputs == 1 else outs

    def init(self, name, array):
        # (np.ascontiguousarray would turn a 0-d scalar into shape [1].)
        self.inits.append(numpy_helper.from_array(np.array(array, order="C", copy=True), name))
        return name

    def const(self, value, dtype=None):
        """A small constant; float constants default to the activation dtype."""
        arr = np.array(value, dtype=dtype or self.np_dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self.consts:
            self.consts[key] = self.init("const_%d" % len(self.consts), arr)
        return self.consts[key]

    def i64(self, value):
        return self.const(value, np.int64)

    def weight(self, name, array):
        return self.init(name, array.astype(self.np_dtype))

    def linear(self, x, name, w_kn):
        """x @ w: MatMulNBits INT4 in quantized graphs, else MatMul with the same dequantized values."""
        packed, scales, deq = quantize_int4(w_kn, self.block_size)
        if not self.quantized:
            return self.op("MatMul", [x, self.weight(name + ".weight", deq)], hint=name)
        k, n = w_kn.shape
        b = self.init(name + ".weight_Q4", packed)
        s = self.init(name + ".weight_scales", scales.astype(self.np_dtype))
        return self.op("MatMulNBits", [x, b, s], domain=MS_DOMAIN, hint=name,
                       attrs={"K": k, "N": n, "bits": 4, "block_size": self.block_size,
                              "accuracy_level": self.accuracy_level})

    def reduce_mean_last(self, x):
        """ReduceMean over the last axis, keepdims (axes became an input in opset 18)."""
        if self.opset >= 18:
            return self.op("ReduceMean", [x, self.i64([-1])], {"keepdims": 1})
        return self.op("ReduceMean", [x], {"axes": [-1], "keepdims": 1})

    def rms_norm(self, x, weight_name, weight, eps):
        """x / sqrt(mean(x^2) + eps) * w over the last axis, computed in float32 even in
        float16 graphs (as the export's SimplifiedLayerNormalization does). `self.norm` picks how
        it is written:
          reciprocal  x * Reciprocal(Sqrt(ReduceMean(x * x) + eps)), then * w (this generator's default);
          fused       SimplifiedLayerNormalization (stash_type float32), the weight folded in;
          decomposed  x / Sqrt(ReduceMean(Pow(x, 2)) + eps), then * w;
          pow         x * Pow(ReduceMean(x * x) + eps, -0.5), then * w."""
        if self.norm == "fused":
            # Computes in float32 internally and rounds once to the activation dtype.
            return self.op("SimplifiedLayerNormalization", [x, self.weight(weight_name, weight)],
                           {"axis": -1, "epsilon": float(eps), "stash_type": 1}, hint="rms_norm")
        xf = self.op("Cast", [x], {"to": TensorProto.FLOAT}) if self.onnx_dtype != TensorProto.FLOAT else x
        eps_c = self.const(eps, np.float32)
        if self.norm == "decomposed":
            ms = self.reduce_mean_last(self.op("Pow", [xf, self.const(2.0, np.float32)]))
            y = self.op("Div", [xf, self.op("Sqrt", [self.op("Add", [ms, eps_c])])])
        elif self.norm == "pow":
            ms = self.reduce_mean_last(self.op("Mul", [xf, xf]))
            y = self.op("Mul", [xf, self.op("Pow", [self.op("Add", [ms, eps_c]), self.const(-0.5, np.float32)])])
        else:
            ms = self.reduce_mean_last(self.op("Mul", [xf, xf]))
            y = self.op("Mul", [xf, self.op("Reciprocal", [self.op("Sqrt", [self.op("Add", [ms, eps_c])])])])
        if self.onnx_dtype != TensorProto.FLOAT:
            y = self.op("Cast", [y], {"to": self.onnx_dtype})
        return self.op("Mul", [y, self.weight(weight_name, weight)], hint="rms_norm")

    def gelu_tanh(self, x):
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); ONNX Gelu needs opset 20.
        x3 = self.op("Mul", [self.op("Mul", [x, x]), x])
        inner = self.op("Mul", [self.op("Add", [x, self.op("Mul", [x3, self.const(0.044715)])]),
                                self.const(np.sqrt(2.0 / np.pi))])
        return self.op("Mul", [self.op("Mul", [x, self.const(0.5)]),
                               self.op("Add", [self.op("Tanh", [inner]), self.const(1.0)])])

    def cast_act(self, x):
        return self.op("Cast", [x], {"to": self.onnx_dtype}) if self.onnx_dtype != TensorProto.FLOAT else x

    def add_input(self, name, elem_type, dims):
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, dims))

    def add_output(self, name, value, elem_type, dims):
        self.nodes.append(helper.make_node("Identity", [value], [name], name=self.fresh("output")))
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, dims))

    def model(self):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        opsets = [helper.make_opsetid("", self.opset)]
        if any(n.domain == MS_DOMAIN for n in self.nodes):
            opsets.append(helper.make_opsetid(MS_DOMAIN, 1))
        m = helper.make_model(graph, opset_imports=opsets, producer_name="gemma4-ort make_test_model",
                              producer_version="1")
        # The IR version that goes with the opset (ONNX's versioning table): 8 up to opset 17, 11 for 23.
        m.ir_version = 8 if self.opset <= 17 else 9 if self.opset <= 20 else 10 if self.opset <= 22 else 11
        return m


def build_embed(spec, weights, dtype):
    """input_ids [B,S] -> inputs_embeds [B,S,H] (x sqrt(H)), per_layer_inputs [B,S,L,P] (x sqrt(P))."""
    g = GraphBuilder("embed_tokens", dtype, quantized=False)
    g.add_input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    ids = "input_ids"
    emb = g.op("Gather", [g.weight("model.embed_tokens.weight", weights["embed"]), ids], {"axis": 0})
    ple = g.op("Gather", [g.weight("model.embed_tokens_per_layer.weight", weights["embed_per_layer"]), ids],
               {"axis": 0})
    return finish_embed(g, spec, emb, ple)


def finish_embed(g, spec, emb, ple):
    """Scales the looked-up rows (x sqrt(H), x sqrt(P)), shapes per_layer_inputs [B,S,L,P] and declares
    both outputs; shared by every generator whatever its lookup op."""
    emb = g.op("Mul", [emb, g.const(np.sqrt(spec.hidden_size))])
    ple = g.op("Mul", [ple, g.const(np.sqrt(spec.per_layer_dim))])
    ple = g.op("Reshape", [ple, g.i64([0, 0, spec.num_layers, spec.per_layer_dim])])
    g.add_output("inputs_embeds", emb, g.onnx_dtype, ["batch_size", "sequence_length", spec.hidden_size])
    g.add_output("per_layer_inputs", ple, g.onnx_dtype,
                 ["batch_size", "sequence_length", spec.num_layers, spec.per_layer_dim])
    return g.model()


def rope_tables(g, pos_f, head_dim, theta, heads_axis=1):
    """cos/sin in the activation dtype from float positions [B,S,1]: [B,1,S,head_dim/2] (heads_axis 1),
    or [B,S,1,head_dim/2] (heads_axis 2, as GroupQueryAttention's BSH inputs want)."""
    inv_freq = (1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)).astype(np.float32)
    ang = g.op("Mul", [pos_f, g.const(inv_freq, np.float32)])          # [B,S,hd/2]
    ang = g.op("Unsqueeze", [ang, g.i64([heads_axis])])
    return g.cast_act(g.op("Cos", [ang])), g.cast_act(g.op("Sin", [ang]))


def _apply_rope(g, x, cos, sin, head_dim):
    half = head_dim // 2
    x1 = g.op("Slice", [x, g.i64([0]), g.i64([half]), g.i64([-1])])
    x2 = g.op("Slice", [x, g.i64([half]), g.i64([head_dim]), g.i64([-1])])
    r1 = g.op("Sub", [g.op("Mul", [x1, cos]), g.op("Mul", [x2, sin])])
    r2 = g.op("Add", [g.op("Mul", [x2, cos]), g.op("Mul", [x1, sin])])
    return g.op("Concat", [r1, r2], {"axis": -1}, hint="rope")


def _heads(g, x, n_heads, head_dim, norm_name, norm_w, eps):
    """[B,S,n*hd] -> per-head RMSNorm -> [B,n,S,hd]."""
    x = g.op("Reshape", [x, g.i64([0, 0, n_heads, head_dim])])
    if norm_name:
        x = g.rms_norm(x, norm_name, norm_w, eps)
    return g.op("Transpose", [x], {"perm": [0, 2, 1, 3]})


def build_decoder(spec, weights, dtype, quantized):
    g = GraphBuilder("decoder_model_merged", dtype, quantized, spec.block_size, spec.accuracy_level)
    act = g.onnx_dtype
    h, p, n_layers = spec.hidden_size, spec.per_layer_dim, spec.num_layers
    nq, nkv = spec.num_attention_heads, spec.num_key_value_heads
    eps = spec.rms_norm_eps

    g.add_input("inputs_embeds", act, ["batch_size", "sequence_length", h])
    g.add_input("per_layer_inputs", act, ["batch_size", "sequence_length", n_layers, p])
    g.add_input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
    g.add_input("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    for i in range(spec.num_kv_owning):
        hd = spec.head_dim_of(i)
        for kv in ("key", "value"):
            g.add_input("past_key_values.%d.%s" % (i, kv), act, ["batch_size", nkv, "past_sequence_length", hd])
    if spec.logits_to_keep:
        g.add_input("num_logits_to_keep", TensorProto.INT64, [])

    # --- positions: RoPE tables per attention type, plus the absolute signal.
    pos_f = g.op("Unsqueeze", [g.op("Cast", ["position_ids"], {"to": TensorProto.FLOAT}), g.i64([2])])
    rope = {
        "sliding_attention": rope_tables(g, pos_f, spec.head_dim, spec.rope_theta_sliding),
        "full_attention": rope_tables(g, pos_f, spec.global_head_dim, spec.rope_theta_full),
    }
    hidden = "inputs_embeds"
    if spec.position_signal:
        sig = g.op("Sin", [g.op("Add", [g.op("Mul", [pos_f, g.const(weights["position_freqs"], np.float32)]),
                                        g.const(weights["position_phase"], np.float32)])])
        sig = g.op("Mul", [g.cast_act(sig), g.const(spec.position_signal)])
        hidden = g.op("Add", [hidden, sig], hint="position_signal")

    # --- attention masks [B,1,S,T] (bool), index based: query i sits at T - S + i.
    seq_len = g.op("Gather", [g.op("Shape", ["inputs_embeds"]), g.i64(1)], {"axis": 0})
    total_len = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.i64(1)], {"axis": 0})
    q_idx = g.op("Add", [g.op("Range", [g.i64(0), seq_len, g.i64(1)]), g.op("Sub", [total_len, seq_len])])
    if spec.mask_from_position_ids:  # the query's absolute position against the key's index
        q_idx = g.op("Gather", ["position_ids", g.i64(0)], {"axis": 0})
    q_idx = g.op("Unsqueeze", [q_idx, g.i64([1])])                     # [S,1]
    k_idx = g.op("Unsqueeze", [g.op("Range", [g.i64(0), total_len, g.i64(1)]), g.i64([0])])  # [1,T]
    causal = g.op("LessOrEqual", [k_idx, q_idx])
    padding = g.op("Equal", ["attention_mask", g.i64(1)])
    padding = g.op("Unsqueeze", [padding, g.i64([1, 2])])              # [B,1,1,T]
    full_mask = g.op("And", [causal, padding], hint="full_mask")
    in_window = g.op("Less", [g.op("Sub", [q_idx, k_idx]), g.i64(spec.sliding_window)])
    masks = {"full_attention": full_mask,
             "sliding_attention": g.op("And", [full_mask, in_window], hint="sliding_mask")}
    neg = g.const(-1e9 if act == TensorProto.FLOAT else -30000.0)

    # --- per-layer inputs: project the embeddings, normalise, add the token table.
    plp = g.linear("inputs_embeds", "per_layer_model_projection", weights["per_layer_model_proj"])
    plp = g.op("Mul", [plp, g.const(1.0 / np.sqrt(h))])
    plp = g.op("Reshape", [plp, g.i64([0, 0, n_layers, p])])
    plp = g.rms_norm(plp, "per_layer_projection_norm.weight", weights["per_layer_proj_norm"], eps)
    per_layer = g.op("Mul", [g.op("Add", [plp, "per_layer_inputs"]), g.const(1.0 / np.sqrt(2.0))],
                     hint="per_layer_inputs_combined")

    kv_cache = {}
    for i in range(n_layers):
        pre = "layers.%d." % i
        kind = spec.layer_types[i]
        hd = spec.head_dim_of(i)
        cos, sin = rope[kind]
        x = g.rms_norm(hidden, pre + "input_layernorm.weight", weights[pre + "input_norm"], eps)
        q = g.linear(x, pre + "self_attn.q_proj", weights[pre + "q_proj"])
        q = _apply_rope(g, _heads(g, q, nq, hd, pre + "self_attn.q_norm.weight", weights[pre + "q_norm"], eps),
                        cos, sin, hd)
        if i < spec.num_kv_owning:
            k = g.linear(x, pre + "self_attn.k_proj", weights[pre + "k_proj"])
            k = _apply_rope(g, _heads(g, k, nkv, hd, pre + "self_attn.k_norm.weight", weights[pre + "k_norm"], eps),
                            cos, sin, hd)
            v = _heads(g, g.linear(x, pre + "self_attn.v_proj", weights[pre + "v_proj"]), nkv, hd, None, None, eps)
            k = g.op("Concat", ["past_key_values.%d.key" % i, k], {"axis": 2}, hint="concat_past_key")
            v = g.op("Concat", ["past_key_values.%d.value" % i, v], {"axis": 2}, hint="concat_past_value")
            kv_cache[i] = (k, v)
            present_k = k
            if spec.broken_present_above and i == spec.num_kv_owning - 1:
                # Appends the first max(S - N, 0) cached keys once more: a wrong length on long steps.
                extra_len = g.op("Max", [g.op("Sub", [seq_len, g.i64(spec.broken_present_above)]), g.i64(0)])
                extra = g.op("Slice", [k, g.i64([0]), g.op("Reshape", [extra_len, g.i64([1])]), g.i64([2])])
                present_k = g.op("Concat", [k, extra], {"axis": 2}, hint="broken_present")
            g.add_output("present.%d.key" % i, present_k, act, ["batch_size", nkv, "total_sequence_length", hd])
            g.add_output("present.%d.value" % i, v, act, ["batch_size", nkv, "total_sequence_length", hd])
        k, v = kv_cache[spec.kv_source(i)]
        if nq != nkv:  # GQA: repeat each KV head nq/nkv times.
            rep = g.i64([1, 1, nq // nkv, 1, 1])
            k = g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [k, g.i64([2])]), rep]), g.i64([0, nq, -1, hd])])
            v = g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [v, g.i64([2])]), rep]), g.i64([0, nq, -1, hd])])
        scores = g.op("MatMul", [q, g.op("Transpose", [k], {"perm": [0, 1, 3, 2]})])
        scores = g.op("Mul", [scores, g.const(1.0 / np.sqrt(hd))])
        # A mask whose length differs from the cache's cannot broadcast: the run fails loudly.
        scores = g.op("Where", [masks[kind], scores, neg], hint=pre + "mask")
        attn = g.op("MatMul", [g.op("Softmax", [scores], {"axis": -1}), v])
        attn = g.op("Reshape", [g.op("Transpose", [attn], {"perm": [0, 2, 1, 3]}), g.i64([0, 0, nq * hd])])
        attn = g.linear(attn, pre + "self_attn.o_proj", weights[pre + "o_proj"])
        attn = g.rms_norm(attn, pre + "post_attention_layernorm.weight", weights[pre + "post_attn_norm"], eps)
        hidden = g.op("Add", [hidden, attn], hint=pre + "residual_attn")

        x = g.rms_norm(hidden, pre + "pre_feedforward_layernorm.weight", weights[pre + "pre_ffw_norm"], eps)
        gate = g.gelu_tanh(g.linear(x, pre + "mlp.gate_proj", weights[pre + "gate_proj"]))
        up = g.linear(x, pre + "mlp.up_proj", weights[pre + "up_proj"])
        mlp = g.linear(g.op("Mul", [gate, up]), pre + "mlp.down_proj", weights[pre + "down_proj"])
        mlp = g.rms_norm(mlp, pre + "post_feedforward_layernorm.weight", weights[pre + "post_ffw_norm"], eps)
        hidden = g.op("Add", [hidden, mlp], hint=pre + "residual_mlp")

        # Per-layer input gate: gelu(h W_g) * per_layer_inputs[:, :, i] -> W_p -> norm -> residual.
        pli = g.op("Gather", [per_layer, g.i64(i)], {"axis": 2})
        gated = g.op("Mul", [g.gelu_tanh(g.linear(hidden, pre + "per_layer_input_gate", weights[pre + "per_layer_gate"])),
                             pli])
        gated = g.linear(gated, pre + "per_layer_projection", weights[pre + "per_layer_proj"])
        gated = g.rms_norm(gated, pre + "post_per_layer_input_norm.weight", weights[pre + "post_per_layer_norm"], eps)
        hidden = g.op("Add", [hidden, gated], hint=pre + "residual_per_layer")

    hidden = g.rms_norm(hidden, "model.norm.weight", weights["final_norm"], eps)
    if spec.logits_to_keep:
        # Keep the last k positions (k = 0 keeps all, as in transformers).
        start = g.op("Neg", [g.op("Reshape", ["num_logits_to_keep", g.i64([1])])])
        hidden = g.op("Slice", [hidden, start, g.i64([2 ** 62]), g.i64([1])], hint="keep_last_logits")
    logits = g.linear(hidden, "lm_head", weights["embed"].T)  # tied to the embedding table
    cap = spec.final_logit_softcapping
    logits = g.op("Mul", [g.op("Tanh", [g.op("Mul", [logits, g.const(1.0 / cap)])]), g.const(cap)], hint="softcap")
    g.add_output("logits", logits, act, ["batch_size", "logits_length" if spec.logits_to_keep else "sequence_length",
                                         spec.vocab_size])
    return g.model()


def build_dummy_encoder(name, input_name, input_dims, output_name, in_features, hidden, dtype, seed):
    """A stand-in multimodal encoder (never run by text-only runtimes, only listed)."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder(name, dtype, quantized=False)
    g.add_input(input_name, g.onnx_dtype, input_dims)
    w = g.weight(name + ".proj.weight", rng.standard_normal((in_features, hidden)).astype(np.float32) * 0.1)
    y = g.op("MatMul", [input_name, w])
    g.add_output(output_name, y, g.onnx_dtype, ["num_features", hidden] if len(input_dims) == 2
                 else input_dims[:-1] + [hidden])
    return g.model()
