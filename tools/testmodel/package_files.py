"""Writes the JSON files and ONNX files (inline or with .onnx_data sidecars) of a package."""
import json
import os

from onnx import TensorProto


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def text_config(spec, tok_ids):
    """The Gemma 4 text config, named as the real export names its fields."""
    return {
        "architectures": ["Gemma4ForCausalLM"],
        "model_type": "gemma4_text",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": tok_ids["bos"],
        "eos_token_id": [tok_ids["eos"], tok_ids["turn_end"]],
        "pad_token_id": tok_ids["pad"],
        "final_logit_softcapping": spec.final_logit_softcapping,
        "head_dim": spec.head_dim,
        "global_head_dim": spec.global_head_dim,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": spec.hidden_size,
        "hidden_size_per_layer_input": spec.per_layer_dim,
        "initializer_range": 0.02,
        "intermediate_size": spec.intermediate_size,
        "layer_types": list(spec.layer_types),
        "max_position_embeddings": spec.max_position_embeddings,
        "num_attention_heads": spec.num_attention_heads,
        "num_hidden_layers": spec.num_layers,
        "num_key_value_heads": spec.num_key_value_heads,
        "num_kv_shared_layers": spec.num_kv_shared_layers,
        "rms_norm_eps": spec.rms_norm_eps,
        "rope_parameters": {
            "sliding_attention": {"rope_type": "default", "rope_theta": spec.rope_theta_sliding},
            "full_attention": {"rope_type": "default", "rope_theta": spec.rope_theta_full},
        },
        "sliding_window": spec.sliding_window,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": spec.vocab_size,
        "vocab_size_per_layer_input": spec.vocab_size,
    }


def community_config(spec, tok_ids, external_data_chunks):
    text = text_config(spec, tok_ids)
    del text["architectures"]
    cfg = {
        "architectures": ["Gemma4ForConditionalGeneration"],
        "model_type": "gemma4",
        "text_config": text,
        "vision_config": {"model_type": "gemma4_vision", "hidden_size": 32, "num_hidden_layers": 1,
                          "num_attention_heads": 1, "patch_size": 16},
        "audio_config": {"model_type": "gemma4_audio", "hidden_size": 32, "num_hidden_layers": 1,
                         "num_attention_heads": 1},
        "image_token_id": tok_ids["image"],
        "audio_token_id": tok_ids["audio"],
        "bos_token_id": tok_ids["bos"],
        "eos_token_id": [tok_ids["eos"], tok_ids["turn_end"]],
        "pad_token_id": tok_ids["pad"],
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
    }
    tjs = {}
    if external_data_chunks:
        tjs["use_external_data_format"] = external_data_chunks
    cfg["transformers.js_config"] = tjs
    return cfg


def generation_config(tok_ids):
    return {
        "bos_token_id": tok_ids["bos"],
        "pad_token_id": tok_ids["pad"],
        "eos_token_id": [tok_ids["eos"], tok_ids["turn_end"], tok_ids["tool_response"]],
        "do_sample": True,
        "top_k": 64,
        "top_p": 0.95,
        "temperature": 1.0,
    }


def save_onnx(model, path, sidecar, parts=2):
    """sidecar: "none" keeps initializers inline; "single" moves every initializer into
    <file>.onnx_data; "split" spreads them over <file>.onnx_data, <file>.onnx_data_1, ...
    (real external_data entries: location, offset, length). Returns the number of data files."""
    if sidecar == "none":
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        return 0
    base = os.path.basename(path) + "_data"
    names = [base] if sidecar == "single" else [base] + ["%s_%d" % (base, i) for i in range(1, parts)]
    inits = [t for t in model.graph.initializer if len(t.raw_data) >= 64]
    total = sum(len(t.raw_data) for t in inits)
    budget = total / len(names)
    files = [open(os.path.join(os.path.dirname(path), n), "wb") for n in names]
    try:
        offsets = [0] * len(names)
        written = 0
        for t in inits:
            idx = min(int(written / budget), len(names) - 1) if budget else 0
            data = t.raw_data
            pad = (-offsets[idx]) % 64     # align like onnx's own writer does for mmap
            files[idx].write(b"\0" * pad)
            offsets[idx] += pad
            files[idx].write(data)
            del t.external_data[:]
            for key, value in (("location", names[idx]), ("offset", str(offsets[idx])), ("length", str(len(data)))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            t.data_location = TensorProto.EXTERNAL
            t.ClearField("raw_data")
            offsets[idx] += len(data)
            written += len(data)
    finally:
        for f in files:
            f.close()
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return len(names)
