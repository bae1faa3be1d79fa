#!/usr/bin/python3
"""Writes a tiny Gemma 4 E2B-style ONNX package (same I/O contract as the real export) for tests.

  /usr/bin/python3 tools/testmodel/make_test_model.py OUT_DIR [--layout text|community]
      [--dtype q4 [--dtype q4f16 ...]] [--no-logits-to-keep] [--sidecar none|single|split]
      [--layers N] [--kv-shared N] [--seed S] ...

Same seed and options give byte-identical files. See README.md for what each option exercises.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import bpe  # noqa: E402
import graphs  # noqa: E402
import package_files as pf  # noqa: E402
from spec import ModelSpec, make_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# dtype name -> (file suffix as the real export names it, activation dtype, MatMulNBits?)
DTYPES = {
    "q4": ("_q4", np.float32, True),
    "q4f16": ("_q4f16", np.float16, True),
    "fp16": ("_fp16", np.float16, False),
    "fp32": ("", np.float32, False),
}


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layout", choices=["text", "community"], default="text",
                    help="text: text config at top level; community: nested text_config (transformers.js)")
    ap.add_argument("--dtype", action="append", choices=sorted(DTYPES),
                    help="graph variant(s) to write, repeatable (default q4)")
    ap.add_argument("--no-logits-to-keep", action="store_true", help="decoder without num_logits_to_keep")
    ap.add_argument("--sidecar", choices=["none", "single", "split"], default="none",
                    help="initializers inline, in <file>.onnx_data, or split over several data files")
    ap.add_argument("--split-parts", type=int, default=3, help="data files per graph with --sidecar split")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--kv-shared", type=int, default=2, help="last N layers reuse an earlier layer's KV")
    ap.add_argument("--full-every", type=int, default=3, help="every N-th layer is full attention")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=128)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--kv-heads", type=int, default=1)
    ap.add_argument("--head-dim", type=int, default=16, help="sliding layers")
    ap.add_argument("--global-head-dim", type=int, default=32, help="full-attention layers")
    ap.add_argument("--per-layer-dim", type=int, default=32)
    ap.add_argument("--sliding-window", type=int, default=8)
    ap.add_argument("--block-size", type=int, choices=[16, 32, 64, 128], default=32)
    ap.add_argument("--accuracy-level", type=int, choices=[0, 1, 2, 3, 4], default=0)
    ap.add_argument("--vocab-size", type=int, default=1536)
    ap.add_argument("--position-signal", type=float, default=3.0,
                    help="weight of the absolute position term (0: RoPE only, as the real model)")
    ap.add_argument("--broken-present-above", type=int, default=0, metavar="N",
                    help="a faulty graph for error-path tests: in steps of more than N tokens the last "
                         "KV-owning layer's present.*.key returns S - N positions too many (attention is unaffected)")
    ap.add_argument("--mask-from-position-ids", action="store_true",
                    help="mask query positions from position_ids (transformers' way) rather than from the mask "
                         "length: a graph form whose sliding layers the runtime must not trim")
    ap.add_argument("--template", choices=["file", "config", "both"], default=None,
                    help="where the chat template goes: chat_template.jinja, tokenizer_config.json, or both "
                         "(default: file for text, both for community)")
    ap.add_argument("--multimodal", action="store_true",
                    help="community layout: also write tiny vision_encoder/audio_encoder graphs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.dtype = args.dtype or ["q4"]
    if args.template is None:
        args.template = "file" if args.layout == "text" else "both"
    if args.multimodal and args.layout != "community":
        ap.error("--multimodal needs --layout community")
    return args


def token_ids(vocab):
    return {"pad": vocab["<pad>"], "eos": vocab["<eos>"], "bos": vocab["<bos>"], "turn_end": vocab["<turn|>"],
            "tool_response": vocab["<|tool_response>"], "image": vocab["<|image|>"], "audio": vocab["<|audio|>"]}


def build_package(args):
    tokenizer, tok_config, vocab_size = bpe.build(args.vocab_size)
    spec = ModelSpec(vocab_size=vocab_size, hidden_size=args.hidden, intermediate_size=args.intermediate,
                     num_layers=args.layers, num_kv_shared_layers=args.kv_shared,
                     num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                     head_dim=args.head_dim, global_head_dim=args.global_head_dim,
                     per_layer_dim=args.per_layer_dim, full_every=args.full_every,
                     sliding_window=args.sliding_window, block_size=args.block_size,
                     accuracy_level=args.accuracy_level, logits_to_keep=not args.no_logits_to_keep,
                     position_signal=args.position_signal, broken_present_above=args.broken_present_above,
                     mask_from_position_ids=args.mask_from_position_ids, seed=args.seed)
    weights = make_weights(spec)
    ids = token_ids(tokenizer["model"]["vocab"])

    out = args.out_dir
    if os.path.isdir(os.path.join(out, "onnx")):
        shutil.rmtree(os.path.join(out, "onnx"))
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    for stale in ("chat_template.jinja",):
        if os.path.exists(os.path.join(out, stale)):
            os.remove(os.path.join(out, stale))

    chunks = {}
    for name in args.dtype:
        suffix, act, quantized = DTYPES[name]
        for base, model in (("embed_tokens", graphs.build_embed(spec, weights, act)),
                            ("decoder_model_merged", graphs.build_decoder(spec, weights, act, quantized))):
            file_name = base + suffix + ".onnx"
            n = pf.save_onnx(model, os.path.join(out, "onnx", file_name), args.sidecar, args.split_parts)
            if n:
                chunks[file_name] = n
        if args.multimodal:
            vision = graphs.build_dummy_encoder("vision_encoder", "pixel_values", ["num_patches", 48],
                                                "image_features", 48, spec.hidden_size, act, args.seed + 1)
            audio = graphs.build_dummy_encoder("audio_encoder", "input_features", ["num_frames", 64],
                                               "audio_features", 64, spec.hidden_size, act, args.seed + 2)
            pf.save_onnx(vision, os.path.join(out, "onnx", "vision_encoder%s.onnx" % suffix), "none")
            pf.save_onnx(audio, os.path.join(out, "onnx", "audio_encoder%s.onnx" % suffix), "none")

    if args.layout == "text":
        config = pf.text_config(spec, ids)
    else:
        config = pf.community_config(spec, ids, chunks)
    pf.write_json(os.path.join(out, "config.json"), config)
    pf.write_json(os.path.join(out, "generation_config.json"), pf.generation_config(ids))
    pf.write_json(os.path.join(out, "tokenizer.json"), tokenizer)
    with open(os.path.join(HERE, "chat_template.jinja"), encoding="utf-8") as f:
        template = f.read()
    if args.template in ("config", "both"):
        tok_config["chat_template"] = template
    pf.write_json(os.path.join(out, "tokenizer_config.json"), tok_config)
    if args.template in ("file", "both"):
        with open(os.path.join(out, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(template)
    return spec


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        build_package(args)
    except ValueError as e:
        print("make_test_model: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
