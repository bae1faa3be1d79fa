#!/usr/bin/python3
"""The CLI contract of `gemma4 tokenize` / `gemma4 detokenize`, checked against the Rust reference.

usage: cli_test.py <gemma4> <node> <tokenizer dir> <scratch dir>
"""
import json
import os
import shutil
import subprocess
import sys

gemma4, node, tok_dir, scratch = sys.argv[1:5]
refs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "refs", "node_modules")
failures = []

# -m may name a directory holding only the tokenizer files.
model = os.path.join(scratch, "cli-tokenizer-only")
os.makedirs(model, exist_ok=True)
for f in ("tokenizer.json", "tokenizer_config.json"):
    if os.path.exists(os.path.join(tok_dir, f)):
        shutil.copy(os.path.join(tok_dir, f), model)

texts = ["Hello world", "", "  two  spaces\nnew line", "日本語 😀 👩‍💻", "<|im_start|>user\nhi<|im_end|>", "tab\there", "x" * 300]
REF = r"""
const { Tokenizer } = require(process.argv[1] + '/@anush008/tokenizers');
const tok = Tokenizer.fromFile(process.argv[2]);
const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const out = [];
  for (const t of texts) {
    const a = (await tok.encode(t, null, { addSpecialTokens: true })).getIds();
    const b = (await tok.encode(t, null, { addSpecialTokens: false })).getIds();
    out.push({ ids: a, plain: b, text: await tok.decode(a, false), skip: await tok.decode(a, true) });
  }
  console.log(JSON.stringify(out));
})();
"""
ref = json.loads(subprocess.run([node, "-e", REF, refs, os.path.join(model, "tokenizer.json")], input=json.dumps(texts),
                                capture_output=True, text=True, check=True).stdout)


def run(args, stdin):
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run([gemma4] + args + ["-m", model], input=data, capture_output=True)


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")


# Batch mode: one JSON string per line in, one {"ids":[...]} per line out.
r = run(["tokenize", "--jsonl"], "".join(json.dumps(t) + "\n" for t in texts))
check("tokenize --jsonl exit", r.returncode == 0, r.stderr.decode())
lines = r.stdout.decode().splitlines()
check("tokenize --jsonl lines", len(lines) == len(texts), lines)
for line, exp in zip(lines, ref):
    check("tokenize --jsonl ids", json.loads(line) == {"ids": exp["ids"]}, f"{line} != {exp['ids']}")
r = run(["tokenize", "--jsonl", "--no-special"], "".join(json.dumps(t) + "\n" for t in texts))
for line, exp in zip(r.stdout.decode().splitlines(), ref):
    check("tokenize --jsonl --no-special", json.loads(line) == {"ids": exp["plain"]}, f"{line} != {exp['plain']}")

r = run(["detokenize", "--jsonl"], "".join(json.dumps(e["ids"]) + "\n" for e in ref))
check("detokenize --jsonl exit", r.returncode == 0, r.stderr.decode())
for line, exp in zip(r.stdout.decode().splitlines(), ref):
    check("detokenize --jsonl", json.loads(line) == {"text": exp["text"]}, f"{line} != {exp['text']!r}")
r = run(["detokenize", "--jsonl", "--skip-special"], "".join(json.dumps(e["ids"]) + "\n" for e in ref))
for line, exp in zip(r.stdout.decode().splitlines(), ref):
    check("detokenize --jsonl --skip-special", json.loads(line) == {"text": exp["skip"]}, f"{line} != {exp['skip']!r}")

# Single mode: stdin text or -p, plain ids or --json; detokenize reads a JSON array.
r = run(["tokenize", "--json"], texts[3])
check("tokenize --json", json.loads(r.stdout) == {"ids": ref[3]["ids"]}, r.stdout)
r = run(["tokenize", "-p", texts[2]], "")
check("tokenize -p", r.stdout.decode().split() == [str(i) for i in ref[2]["ids"]], r.stdout)
r = run(["detokenize"], json.dumps(ref[3]["ids"]))
check("detokenize", r.stdout.decode() == ref[3]["text"], r.stdout)
r = run(["detokenize", "--json", "--skip-special"], json.dumps(ref[4]["ids"]))
check("detokenize --json --skip-special", json.loads(r.stdout) == {"text": ref[4]["skip"]}, r.stdout)

# Errors: exit 1 with one "error: ..." line naming the culprit.
r = run(["detokenize"], "[1, 2, 99999999]")
check("id out of range", r.returncode == 1 and b"error:" in r.stderr and b"99999999" in r.stderr, r.stderr)
r = run(["tokenize"], b"ok \xff bad")
check("invalid UTF-8", r.returncode == 1 and b"byte offset 3" in r.stderr, r.stderr)
r = run(["tokenize", "--jsonl"], '"fine"\nnot json\n')
check("bad jsonl line", r.returncode == 1 and b"line 2" in r.stderr, r.stderr)
r = run(["detokenize"], '[1, "x"]')
check("non-integer id", r.returncode == 1 and b"element 1" in r.stderr, r.stderr)
r = subprocess.run([gemma4, "tokenize", "-m", os.path.join(scratch, "no-such-dir"), "-p", "x"], capture_output=True)
check("missing model", r.returncode == 1 and b"error:" in r.stderr, r.stderr)

for f in failures:
    print("FAIL", f)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
