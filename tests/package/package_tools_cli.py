#!/usr/bin/python3
"""End-to-end checks of `gemma4 repack`, `gemma4 pull`, `gemma4 verify` and `-m owner/name`, run
through the real binary (CTest package.cli_repack / package.cli_pull).

  package_tools_cli.py repack|pull --cli GEMMA4 --models-dir DIR --source-dir DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

PROMPT_IDS = "2,105,1234,107,500,611,702,106,107,105,900,107"
COMMIT = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def gemma4(args, cli, env=None, check_rc=True):
    p = subprocess.run([cli] + args, capture_output=True, text=True, env=env, timeout=120)
    if check_rc and p.returncode != 0:
        print("command failed: %s\nstdout: %s\nstderr: %s" % (" ".join(args), p.stdout, p.stderr))
        FAILURES.append(" ".join(args))
    return p


def run_ids(cli, model, dtype, env=None):
    p = gemma4(["run", "-m", model, "--dtype", dtype, "--prompt-ids", PROMPT_IDS, "--temp", "0", "-n", "16", "--json"],
               cli, env)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])["output_ids"]



def test_repack(a, tmp):
    for name, dtype in (("community", "q4"), ("community", "q4f16"), ("sidecar-split", "q4")):
        src = os.path.join(a.models_dir, name)
        dst = os.path.join(tmp, "%s-%s" % (name, dtype))
        p = gemma4(["repack", src, dst, "--dtype", dtype], a.cli)
        check(p.stdout.strip() == dst, "repack %s --dtype %s prints DST" % (name, dtype))
        check("loaded by ONNX Runtime" in p.stderr, "repack %s: the result was loaded before publishing" % name)
        want, got = run_ids(a.cli, src, dtype), run_ids(a.cli, dst, dtype)
        check(want is not None and len(want) > 0 and want == got,
              "repacked %s/%s generates the same tokens as the source (%s vs %s)" % (name, dtype, want, got))
        p = gemma4(["verify", dst], a.cli)
        check(p.stdout.startswith("OK "), "verify %s: %s" % (dst, p.stdout.strip()))

    dst = os.path.join(tmp, "community-q4")
    p = gemma4(["repack", os.path.join(a.models_dir, "community"), dst], a.cli, check_rc=False)
    check(p.returncode == 1 and "already exists" in p.stderr, "repack onto an existing DST is refused")
    data = os.path.join(dst, "onnx", "decoder_model_merged_q4.onnx_data")
    with open(data, "r+b") as f:
        f.seek(100)
        b = f.read(1)
        f.seek(100)
        f.write(bytes([b[0] ^ 0xFF]))
    p = gemma4(["verify", dst], a.cli, check_rc=False)
    check(p.returncode == 1 and "BAD onnx/decoder_model_merged_q4.onnx_data: sha256" in p.stdout,
          "verify names the damaged file: %s" % p.stdout.strip())


def start_hub(a, tmp, repos, faults=None):
    config = {"repos": repos, "faults": os.path.join(tmp, "faults.json"), "log": os.path.join(tmp, "log.jsonl")}
    with open(config["faults"], "w") as f:
        json.dump(faults or {}, f)
    with open(os.path.join(tmp, "hub.json"), "w") as f:
        json.dump(config, f)
    hub = subprocess.Popen([sys.executable, os.path.join(a.source_dir, "tests", "package", "fake_hub.py"),
                            os.path.join(tmp, "hub.json")], stdout=subprocess.PIPE, text=True)
    port = int(hub.stdout.readline().split()[1])
    return hub, "http://127.0.0.1:%d" % port


def test_pull(a, tmp):
    text = os.path.join(a.models_dir, "text-q4-sidecar")
    repos = {"owner/text": {"dir": text, "commit": COMMIT},
             "owner/other": {"dir": os.path.join(a.models_dir, "kv-shared-alt"), "commit": COMMIT},
             "owner/gated": {"dir": text, "commit": COMMIT, "gated": True, "token": "hf_ok"}}
    hub, url = start_hub(a, tmp, repos, {"chunk": 2048, "delay_per_chunk": 0.001})
    try:
        env = dict(os.environ, HF_ENDPOINT=url, HF_HOME=os.path.join(tmp, "hf"))
        for k in ("HF_TOKEN", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN_PATH"):
            env.pop(k, None)

        p = gemma4(["pull", "owner/gated"], a.cli, env, check_rc=False)
        check(p.returncode == 1 and "gated" in p.stderr and "export HF_TOKEN=" in p.stderr,
              "401 on a gated repo says how to set a token: %s" % p.stderr.strip())
        p = gemma4(["pull", "owner/gated", "-q"], a.cli, dict(env, HF_TOKEN="hf_ok"))
        check(p.returncode == 0, "gated repo pulls with HF_TOKEN")
        p = gemma4(["pull", "owner/nope"], a.cli, env, check_rc=False)
        check(p.returncode == 1 and "repository 'owner/nope' not found" in p.stderr, "missing repo: %s" % p.stderr.strip())

        # Two pulls of one repo at once, as two processes.
        procs = [subprocess.Popen([a.cli, "pull", "owner/text"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outs = [pr.communicate(timeout=120) for pr in procs]
        check(all(pr.returncode == 0 for pr in procs), "two concurrent pulls both succeed: %s" % [o[1][-300:] for o in outs])
        snapshots = {o[0].strip() for o in outs}
        check(len(snapshots) == 1, "both pulls name the same snapshot: %s" % snapshots)
        snapshot = snapshots.pop()
        check(snapshot.endswith("models--owner--text/snapshots/" + COMMIT), "snapshot path in the HF layout")
        p = gemma4(["verify", snapshot], a.cli)
        check("match the cache's blob hashes" in p.stdout, "verify checks the snapshot against its blobs")
        blobs = os.listdir(os.path.join(env["HF_HOME"], "hub", "models--owner--text", "blobs"))
        check(not [b for b in blobs if "." in b], "no .incomplete left: %s" % blobs)

        # -m owner/name: same tokens as the directory; pulled on first use, then offline from the cache.
        want = run_ids(a.cli, text, "q4")
        check(run_ids(a.cli, "owner/text", "q4", env) == want, "run -m owner/text == run -m DIR")
        other = run_ids(a.cli, "owner/other", "q4", env)  # not cached yet: pulled by run
        check(other is not None and other == run_ids(a.cli, os.path.join(a.models_dir, "kv-shared-alt"), "q4"),
              "run -m owner/other pulls it when missing")
        offline = dict(env, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:1")
        check(run_ids(a.cli, "owner/text", "q4", offline) == want, "HF_HUB_OFFLINE=1 run is served from the cache")
        p = gemma4(["pull", "owner/text"], a.cli, offline)
        check(p.stdout.strip() == snapshot and "offline" in p.stderr, "HF_HUB_OFFLINE=1 pull answers from the cache")
        p = gemma4(["run", "-m", "owner/nope", "-p", "hi"], a.cli, offline, check_rc=False)
        check(p.returncode == 1 and "HF_HUB_OFFLINE" in p.stderr, "offline and not cached: %s" % p.stderr.strip())
    finally:
        hub.terminate()
        hub.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=["repack", "pull"])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="gemma4-tools-")
    try:
        {"repack": test_repack, "pull": test_pull}[a.test](a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
