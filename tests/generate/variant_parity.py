#!/usr/bin/python3
"""`gemma4 run` on a reduced export variant (tools/testmodel/make_full_size.py --reduced plus the
variant's flags: the LM head, norm, attention and RoPE forms the public export may take) must give
the tokens of the model card's loop (tests/refs/reference_loop.mjs) and of transformers.js
(tests/refs/tjs_generate.mjs), for q4 and q4f16, on a short prompt and one many sliding windows
long (the reduced window is 8).

  variant_parity.py --source-dir SRC --cli GEMMA4 --work-dir DIR --name NAME -- [generator flags...]
"""
import argparse
import json
import os
import random
import sys

from fullsize_parity import FAILURES, check, run  # the same checks and runner (this folder)

REFERENCES = ("reference_loop.mjs", "tjs_generate.mjs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("flags", nargs="*", help="make_full_size.py flags of the variant")
    a = ap.parse_args()
    gen = os.path.join(a.source_dir, "tools", "testmodel", "make_full_size.py")
    model = os.path.join(a.work_dir, a.name)
    os.makedirs(a.work_dir, exist_ok=True)
    r = run([sys.executable, gen, model, "--reduced", "--dtype", "q4", "--dtype", "q4f16", *a.flags])
    if not check(r.returncode == 0, "make_full_size.py --reduced %s failed: %s" % (" ".join(a.flags), r.stderr[-800:])):
        return 1

    # The split prefill (decoder cut after its KV outputs) is refused for a float16 graph with ops
    # ONNX Runtime runs through inserted float32 Casts: the halves would round otherwise.
    fused_norms = "--norm" in a.flags and a.flags[a.flags.index("--norm") + 1] == "fused"
    for dtype in ("q4", "q4f16"):
        r = run([a.cli, "info", "-m", model, "--dtype", dtype, "--json"])
        if check(r.returncode == 0, "gemma4 info failed on %s/%s: %s" % (a.name, dtype, r.stderr[-800:])):
            split = json.loads(r.stdout)["discovery"]["split_prefill"]
            check(split == (dtype == "q4" or not fused_norms), "%s/%s: split_prefill is %s" % (a.name, dtype, split))

    rng = random.Random(11)
    prompts = [[2, 105, 700, 9, 88], [2] + [rng.randrange(384, 1536) for _ in range(40)]]
    for dtype in ("q4", "q4f16"):
        for prompt in prompts:
            what = "%s/%s, %d-token prompt" % (a.name, dtype, len(prompt))
            r = run([a.cli, "run", "-m", model, "--dtype", dtype, "-t", "1", "--prompt-ids",
                     ",".join(map(str, prompt)), "--temp", "0", "-n", "20", "--ignore-eos", "--json"])
            if not check(r.returncode == 0, "gemma4 run failed on %s: %s" % (what, r.stderr[-800:])):
                continue
            got = json.loads(r.stdout)["output_ids"]
            check(len(set(got)) > 3, "%s: greedy output is nearly constant (%s): the package does not exercise "
                                     "the model" % (what, got))
            for ref in REFERENCES:
                r = run(["node", os.path.join(a.source_dir, "tests", "refs", ref), "--model", model, "--dtype", dtype,
                         "--prompt-ids", json.dumps(prompt), "--max-new-tokens", "20"])
                if not check(r.returncode == 0, "%s failed on %s: %s" % (ref, what, r.stderr[-800:])):
                    continue
                expected = json.loads(r.stdout)["output_ids"]
                # The references stop at EOS; gemma4 was told to ignore it, so compare up to there.
                check(got[:len(expected)] == expected,
                      "%s: gemma4 run gave %s, %s %s" % (what, got, ref, expected))
    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
