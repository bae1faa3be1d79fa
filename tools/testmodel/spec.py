"""The shape of a tiny Gemma 4 text model, and its seeded random weights."""
from dataclasses import dataclass, field
import numpy as np


@dataclass
class ModelSpec:
    vocab_size: int
    hidden_size: int = 64
    intermediate_size: int = 128
    num_layers: int = 6
    num_kv_shared_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    head_dim: int = 16            # sliding layers
    global_head_dim: int = 32     # full-attention layers
    per_layer_dim: int = 32       # hidden_size_per_layer_input
    full_every: int = 3           # every n-th layer is full attention
    sliding_window: int = 8
    max_position_embeddings: int = 4096
    rope_theta_sliding: float = 10000.0
    rope_theta_full: float = 1000000.0
    final_logit_softcapping: float = 30.0
    rms_norm_eps: float = 1e-6
    block_size: int = 32
    accuracy_level: int = 0
    logits_to_keep: bool = True
    # Absolute sinusoidal position signal added to the residual stream. RoPE alone only sees
    # position differences, so a runtime that shifted every position id by a constant would
    # go unnoticed; this term makes any wrong position id change the logits.
    position_signal: float = 3.0
    broken_present_above: int = 0
    # Query positions of the mask from position_ids (as transformers builds it) instead of from the
    # mask length: right for a cache that holds every position, wrong for a trimmed one.
    mask_from_position_ids: bool = False
    seed: int = 0
    layer_types: list = field(default_factory=list)

    def __post_init__(self):
        if not self.layer_types:
            self.layer_types = ["full_attention" if (i + 1) % self.full_every == 0 else "sliding_attention"
                                for i in range(self.num_layers)]
        if len(self.layer_types) != self.num_layers:
            raise ValueError("layer_types has %d entries for %d layers" % (len(self.layer_types), self.num_layers))
        if not 0 <= self.num_kv_shared_layers < self.num_layers:
            raise ValueError("--kv-shared must be in [0, layers)")
        for kind in set(self.layer_types[self.num_layers - self.num_kv_shared_layers:]):
            if kind not in self.layer_types[:self.num_kv_owning]:
                raise ValueError("a KV-shared %s layer has no earlier %s layer to share with" % (kind, kind))
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")

    @property
    def num_kv_owning(self):
        return self.num_layers - self.num_kv_shared_layers

    def head_dim_of(self, layer):
        return self.global_head_dim if self.layer_types[layer] == "full_attention" else self.head_dim

    def kv_source(self, layer):
        """The KV-owning layer whose cache `layer` attends over (itself when it owns one):
        a shared layer reuses the last owning layer of the same attention type."""
        if layer < self.num_kv_owning:
            return layer
        kind = self.layer_types[layer]
        return max(i for i in range(self.num_kv_owning) if self.layer_types[i] == kind)


def make_weights(spec: ModelSpec):
    """Float32 weights keyed by name; every dtype variant is built from the same set.
    Linear weights are [in, out] (y = x @ w)."""
    rng = np.random.default_rng(spec.seed)
    h, p, n_layers = spec.hidden_size, spec.per_layer_dim, spec.num_layers

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_weight(n):
        return (1.0 + normal((n,), 0.1)).astype(np.float32)

    w = {
        "embed": normal((spec.vocab_size, h), 1.0 / np.sqrt(h)),
        "embed_per_layer": normal((spec.vocab_size, n_layers * p), 1.0 / np.sqrt(p)),
        "per_layer_model_proj": normal((h, n_layers * p), 1.0),
        "per_layer_proj_norm": norm_weight(p),
        "final_norm": norm_weight(h),
        "position_freqs": rng.uniform(0.05, 1.5, size=(h,)).astype(np.float32),
        "position_phase": rng.uniform(0.0, 2 * np.pi, size=(h,)).astype(np.float32),
    }
    for i in range(n_layers):
        hd = spec.head_dim_of(i)
        nq, nkv = spec.num_attention_heads, spec.num_key_value_heads
        pre = "layers.%d." % i
        w[pre + "input_norm"] = norm_weight(h)
        w[pre + "q_proj"] = normal((h, nq * hd), 1.0 / np.sqrt(h))
        w[pre + "q_norm"] = norm_weight(hd)
        if i < spec.num_kv_owning:
            w[pre + "k_proj"] = normal((h, nkv * hd), 1.0 / np.sqrt(h))
            w[pre + "v_proj"] = normal((h, nkv * hd), 1.0 / np.sqrt(h))
            w[pre + "k_norm"] = norm_weight(hd)
        w[pre + "o_proj"] = normal((nq * hd, h), 1.0 / np.sqrt(nq * hd))
        w[pre + "post_attn_norm"] = norm_weight(h)
        w[pre + "pre_ffw_norm"] = norm_weight(h)
        w[pre + "gate_proj"] = normal((h, spec.intermediate_size), 1.0 / np.sqrt(h))
        w[pre + "up_proj"] = normal((h, spec.intermediate_size), 1.0 / np.sqrt(h))
        w[pre + "down_proj"] = normal((spec.intermediate_size, h), 1.0 / np.sqrt(spec.intermediate_size))
        w[pre + "post_ffw_norm"] = norm_weight(h)
        w[pre + "per_layer_gate"] = normal((h, p), 1.0 / np.sqrt(h))
        w[pre + "per_layer_proj"] = normal((p, h), 1.0 / np.sqrt(p))
        w[pre + "post_per_layer_norm"] = norm_weight(h)
    return w
