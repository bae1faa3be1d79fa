#!/usr/bin/python3
"""Greedy generation of `gemma4 run` against independent implementations, token for token.

  parity_check.py --gemma4 BIN --source-dir SRC --models-dir DIR

transformers.js 4.3.2 (tests/refs/tjs_generate.mjs) runs the community-layout packages; the model
card's loop ported to onnxruntime-node (tests/refs/reference_loop.mjs) runs the text-only ones.
Cases cover float32 and float16, with and without num_logits_to_keep, sidecars, two KV-shared layouts
and prompts of 1 to 600 tokens; each must give the same 64 new tokens (or the same shorter run ending
on an EOS id).
"""
import argparse
import concurrent.futures
import json
import os
import random
import subprocess
import sys

CASES = [
    # (package, dtype, prompt length, reference script)
    ("community", "q4", 1, "tjs_generate.mjs"),
    ("community", "q4", 600, "tjs_generate.mjs"),
    ("community", "q4f16", 17, "tjs_generate.mjs"),
    ("community", "q4f16", 600, "tjs_generate.mjs"),
    ("no-logits-to-keep", "q4", 33, "tjs_generate.mjs"),
    ("no-logits-to-keep", "q4f16", 250, "tjs_generate.mjs"),
    ("sidecar-split", "q4", 40, "tjs_generate.mjs"),
    ("kv-shared-alt", "q4", 600, "tjs_generate.mjs"),
    ("kv-shared-alt", "q4f16", 9, "tjs_generate.mjs"),
    ("text-q4", "q4", 100, "reference_loop.mjs"),
    ("text-q4f16", "q4f16", 300, "reference_loop.mjs"),
    ("text-fp", "fp16", 50, "reference_loop.mjs"),
]
MAX_NEW = 64
EOS = (1, 106, 50)


def prompt_of(length, seed, vocab):
    # Ordinary tokens only (above the special and byte ranges), so any id is a plausible prompt.
    rng = random.Random(seed)
    return [2] + [rng.randrange(384, vocab) for _ in range(length - 1)]


def vocab_of(model):
    with open(os.path.join(model, "config.json")) as f:
        config = json.load(f)
    return config.get("text_config", config)["vocab_size"]


def run_reference(src, script, model, dtype, prompt):
    r = subprocess.run(["node", os.path.join(src, "tests", "refs", script), "--model", model, "--dtype", dtype,
                        "--prompt-ids", json.dumps(prompt), "--max-new-tokens", str(MAX_NEW)],
                       capture_output=True, text=True, timeout=240)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (script, r.stderr[-800:]))
    return json.loads(r.stdout)["output_ids"]


def run_gemma4(binary, model, dtype, prompt):
    r = subprocess.run([binary, "run", "-m", model, "--dtype", dtype, "--prompt-ids", ",".join(map(str, prompt)),
                        "--temp", "0", "-n", str(MAX_NEW), "--json", "-t", "1"],
                       capture_output=True, text=True, timeout=240)
    if r.returncode != 0:
        raise RuntimeError("gemma4 run failed: %s" % r.stderr[-800:])
    out = json.loads(r.stdout)
    if out["prompt_ids"] != prompt:
        raise RuntimeError("gemma4 run echoed other prompt ids")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gemma4", required=True)
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--models-dir", required=True)
    args = ap.parse_args()

    def one(case):
        name, dtype, length, script = case
        model = os.path.join(args.models_dir, name)
        prompt = prompt_of(length, seed=length * 31 + len(name), vocab=vocab_of(model))
        try:
            expected = run_reference(args.source_dir, script, model, dtype, prompt)
            got = run_gemma4(args.gemma4, model, dtype, prompt)
        except Exception as e:  # reported below, as a failure of this case
            return case, None, None, str(e)
        return case, expected, got, None

    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for (name, dtype, length, script), expected, got, error in pool.map(one, CASES):
            what = "%s/%s, %d-token prompt, vs %s" % (name, dtype, length, script)
            if error:
                print("FAIL %s: %s" % (what, error))
                failures += 1
                continue
            ids = got["output_ids"]
            ok = ids == expected and (len(ids) == MAX_NEW or ids[-1] in EOS)
            stop_ok = (got["stop_reason"] == "eos") == (bool(ids) and ids[-1] in EOS and len(ids) <= MAX_NEW)
            if ok and stop_ok:
                print("ok   %s: %d tokens, %d distinct, stop %s" % (what, len(ids), len(set(ids)), got["stop_reason"]))
            else:
                failures += 1
                first = next((i for i, (a, b) in enumerate(zip(ids, expected)) if a != b), min(len(ids), len(expected)))
                print("FAIL %s: first difference at step %d\n  expected %s\n  gemma4   %s (stop %s)"
                      % (what, first, expected, ids, got["stop_reason"]))
    print("%d of %d cases agree" % (len(CASES) - failures, len(CASES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
