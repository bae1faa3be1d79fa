#!/usr/bin/python3
"""`gemma4 run` on the reduced variant of the full-size benchmark package (same graph structure and
operators as tools/testmodel/make_full_size.py writes at full size: GroupQueryAttention,
GatherBlockQuantized, MatMulNBits accuracy_level 4, KV-shared layers, double-wide MLP) must give
the tokens of the model card's loop on onnxruntime-node (tests/refs/reference_loop.mjs), for q4
and q4f16, short prompts and prompts longer than the sliding window, with and without
num_logits_to_keep. `gemma4 bench` must run on it and report consistent figures.

  fullsize_parity.py --source-dir SRC --cli GEMMA4 --work-dir DIR
"""
import argparse
import json
import os
import random
import subprocess
import sys

FAILURES = []


def check(cond, message):
    if not cond:
        FAILURES.append(message)
        print("FAIL: " + message, flush=True)
    return cond


def run(cmd, timeout=120):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--work-dir", required=True)
    a = ap.parse_args()
    gen = os.path.join(a.source_dir, "tools", "testmodel", "make_full_size.py")
    ref = os.path.join(a.source_dir, "tests", "refs", "reference_loop.mjs")
    os.makedirs(a.work_dir, exist_ok=True)

    packages = {"keep": [], "no-keep": ["--no-logits-to-keep"]}
    for name, extra in packages.items():
        r = run([sys.executable, gen, os.path.join(a.work_dir, name), "--reduced", "--dtype", "q4", "--dtype", "q4f16",
                 *extra])
        if not check(r.returncode == 0, "make_full_size.py --reduced %s failed: %s" % (name, r.stderr[-800:])):
            return 1

    rng = random.Random(5)
    prompts = [[2, 105, 700], [2] + [rng.randrange(384, 1536) for _ in range(30)]]  # the window is 8
    for name in packages:
        model = os.path.join(a.work_dir, name)
        for dtype in ("q4", "q4f16"):
            for prompt in prompts:
                what = "%s/%s, %d-token prompt" % (name, dtype, len(prompt))
                r = run(["node", ref, "--model", model, "--dtype", dtype, "--prompt-ids", json.dumps(prompt),
                         "--max-new-tokens", "24"])
                if not check(r.returncode == 0, "reference loop failed on %s: %s" % (what, r.stderr[-800:])):
                    continue
                expected = json.loads(r.stdout)["output_ids"]
                r = run([a.cli, "run", "-m", model, "--dtype", dtype, "-t", "1", "--prompt-ids",
                         ",".join(map(str, prompt)), "--temp", "0", "-n", "24", "--json"])
                if not check(r.returncode == 0, "gemma4 run failed on %s: %s" % (what, r.stderr[-800:])):
                    continue
                got = json.loads(r.stdout)["output_ids"]
                check(got == expected, "%s: gemma4 run gave %s, the reference loop %s" % (what, got, expected))
                check(len(set(expected)) > 3, "%s: greedy output is nearly constant (%s): the package does not "
                                              "exercise the model" % (what, expected))

    # gemma4 bench: the figures it prints must hang together, and its greedy output must be the
    # reference loop's (EOS ignored, so compare the reference's tokens up to its first EOS).
    model = os.path.join(a.work_dir, "keep")
    prompt = prompts[1]
    ids_file = os.path.join(a.work_dir, "prompt.json")
    with open(ids_file, "w") as f:
        json.dump(prompt, f)
    r = run([a.cli, "bench", "-m", model, "-t", "1", "--prompt-ids-file", ids_file, "-n", "12", "-r", "2",
             "-d", "40,80", "--json", "-q"])
    if check(r.returncode == 0, "gemma4 bench failed: %s" % r.stderr[-800:]):
        b = json.loads(r.stdout)
        check(b["prompt_tokens"] == len(prompt) and b["prompt_ids"] == prompt, "bench did not use the prompt file")
        check(len(b["ttft_ms"]["samples"]) == 2 and len(b["decode_tok_s"]["samples"]) == 2, "bench: not 2 repetitions")
        check(len(b["output_ids"]) == 13, "bench: expected 1 + 12 tokens, got %d" % len(b["output_ids"]))
        for key in ("ttft_ms", "prefill_tok_s", "decode_tok_s"):
            s = b[key]
            check(0 < s["min"] <= s["median"] <= s["max"], "bench: %s out of order: %s" % (key, s))
        for pp, ttft in zip(b["prefill_tok_s"]["samples"], b["ttft_ms"]["samples"]):
            check(abs(pp - len(prompt) * 1000 / ttft) < 0.01 * pp, "bench: prefill %s tok/s but TTFT %s ms" % (pp, ttft))
        for tg, ms in zip(b["decode_tok_s"]["samples"], b["decode_ms_per_token"]["samples"]):
            check(abs(tg * ms - 1000) < 10, "bench: %s tok/s but %s ms/token" % (tg, ms))
        check(0 <= b["host_share"]["median"] < 1, "bench: host share %s outside [0, 1)" % b["host_share"])
        check(b["peak_rss_mb"] > 10, "bench: peak RSS %s MiB is implausible" % b["peak_rss_mb"])
        check(b["peak_anon_mb"] > 1, "bench: peak anonymous memory %s MiB is implausible" % b["peak_anon_mb"])
        check([d["depth"] for d in b["depths"]] == [40, 80], "bench: -d 40,80 gave depths %s" % b["depths"])
        for d in b["depths"]:
            check(d["decode_tok_s"]["median"] > 0 and len(d["ttft_ms"]["samples"]) == 2 and d["ttft_ms"]["min"] > 0,
                  "bench: depth %s has no decode speed or TTFT: %s" % (d["depth"], d))
            check(1 < d["peak_anon_mb"] <= d["peak_rss_mb"] <= b["peak_rss_mb"] + 1,
                  "bench: depth %s peaks out of order (anon %s, RSS %s, process %s)" %
                  (d["depth"], d["peak_anon_mb"], d["peak_rss_mb"], b["peak_rss_mb"]))
        r = run(["node", ref, "--model", model, "--dtype", "q4", "--prompt-ids", json.dumps(prompt),
                 "--max-new-tokens", "13"])
        if check(r.returncode == 0, "reference loop failed: %s" % r.stderr[-800:]):
            expected = json.loads(r.stdout)["output_ids"]
            check(b["output_ids"][:len(expected)] == expected,
                  "bench output %s differs from the reference loop %s" % (b["output_ids"], expected))

    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
