#!/usr/bin/python3
"""Writes the standard test packages into OUT_ROOT/<name>/ (the CMake target `test_models` and the
CTest fixture `test_models` both run this). The table below is the single list; README.md says what
each package exercises.

  /usr/bin/python3 tools/testmodel/make_standard_set.py OUT_ROOT [NAME ...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import make_full_size  # noqa: E402
import make_test_model  # noqa: E402

STANDARD_SET = {
    "text-q4": ["--layout", "text", "--dtype", "q4"],
    "text-q4f16": ["--layout", "text", "--dtype", "q4f16", "--block-size", "16"],
    "text-q4-sidecar": ["--layout", "text", "--dtype", "q4", "--sidecar", "single"],
    "text-fp": ["--layout", "text", "--dtype", "fp32", "--dtype", "fp16"],
    "community": ["--layout", "community", "--dtype", "q4", "--dtype", "q4f16", "--template", "config",
                  "--sidecar", "single", "--multimodal"],
    "no-logits-to-keep": ["--layout", "community", "--dtype", "q4", "--dtype", "q4f16", "--no-logits-to-keep"],
    "sidecar-split": ["--layout", "community", "--dtype", "q4", "--sidecar", "split", "--split-parts", "3"],
    "kv-shared-alt": ["--layout", "community", "--dtype", "q4", "--dtype", "q4f16", "--layers", "8",
                      "--kv-shared", "3", "--full-every", "4", "--heads", "4", "--kv-heads", "2",
                      "--accuracy-level", "4", "--seed", "7"],
    "broken-present": ["--layout", "text", "--dtype", "q4", "--broken-present-above", "4"],
    # Every layer full attention: nothing for the sliding-window trim to do.
    "no-sliding": ["--layout", "text", "--dtype", "q4", "--full-every", "1"],
    # The mask's query positions from position_ids: a form the sliding-window trim must refuse.
    "mask-from-position-ids": ["--layout", "text", "--dtype", "q4", "--mask-from-position-ids"],
    # The reduced full-size graph: GroupQueryAttention owns each cache (so the runtime can update it
    # in place), KV-shared layers read present.* through an Identity, window 8.
    "gqa": (make_full_size, ["--reduced", "--layout", "text", "--dtype", "q4", "--dtype", "q4f16"]),
    # A float LM head (the form the public export may have): float16 weight through a Cast (q4) or a
    # float16 MatMul (q4f16); float32 weight, the activations Cast to float32 in q4f16.
    "lm-head-fp16": (make_full_size, ["--reduced", "--layout", "text", "--dtype", "q4", "--dtype", "q4f16",
                                      "--lm-head", "fp16"]),
    "lm-head-fp32": (make_full_size, ["--reduced", "--layout", "text", "--dtype", "q4", "--dtype", "q4f16",
                                      "--lm-head", "fp32"]),
}


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    root, names = argv[0], argv[1:] or list(STANDARD_SET)
    for name in names:
        if name not in STANDARD_SET:
            print("make_standard_set: unknown package '%s' (known: %s)" % (name, ", ".join(STANDARD_SET)),
                  file=sys.stderr)
            return 2
        entry = STANDARD_SET[name]
        generator, args = entry if isinstance(entry, tuple) else (make_test_model, entry)
        rc = generator.main([os.path.join(root, name)] + args)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
