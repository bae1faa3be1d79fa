#!/usr/bin/python3
"""Checks of the test-model generator (tools/testmodel) against independent references.

  testmodel_checks.py CHECK --source-dir SRC --models-dir DIR
CHECK: contract | determinism | parity | perturbations | varied | tokenizer | template

parity runs tests/refs/reference_loop.mjs (the model card's loop on onnxruntime-node) and
tests/refs/tjs_generate.mjs (transformers.js) on the same packages and prompts and requires the same
tokens; perturbations proves that the packages notice classic runtime bugs.
"""
import argparse
import concurrent.futures
import filecmp
import json
import os
import random
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(cond, message):
    if not cond:
        FAILURES.append(message)
        print("FAIL: " + message, flush=True)
    return cond


def node(src, script, *args, timeout=120):
    return subprocess.run(["node", os.path.join(src, "tests", "refs", script), *args],
                          capture_output=True, text=True, timeout=timeout)


def generate(src, model, dtype, prompt, script="reference_loop.mjs", extra=(), max_new=64):
    r = node(src, script, "--model", model, "--dtype", dtype, "--prompt-ids", json.dumps(prompt),
             "--max-new-tokens", str(max_new), *extra)
    if r.returncode != 0:
        return None, r.stderr.strip()[-600:]
    return json.loads(r.stdout)["output_ids"], None


def prompt_of(length, seed, vocab=1536):
    rng = random.Random(seed)
    return [2] + [rng.randrange(384, vocab) for _ in range(length - 1)]


def make(src, out, *args):
    return subprocess.run([sys.executable, os.path.join(src, "tools", "testmodel", "make_test_model.py"), out,
                           *args], capture_output=True, text=True)


def check_determinism(src, models):
    with tempfile.TemporaryDirectory() as tmp:
        a, b, c = (os.path.join(tmp, n) for n in "abc")
        opts = ["--layout", "community", "--dtype", "q4", "--dtype", "q4f16", "--sidecar", "split", "--multimodal"]
        t0 = time.time()
        r = make(src, a, *opts)
        elapsed = time.time() - t0
        check(r.returncode == 0, "generator failed: " + r.stderr)
        print("one package (q4 + q4f16, split sidecars): %.2f s" % elapsed)
        make(src, b, *opts)
        make(src, c, *opts, "--seed", "1")
        files = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
        check(len(files) >= 10, "expected the package files, got %s" % files)
        for f in files:
            check(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False),
                  "same seed and options gave different bytes in %s" % f)
        for f in ("onnx/decoder_model_merged_q4.onnx_data", "onnx/embed_tokens_q4.onnx_data"):
            check(not filecmp.cmp(os.path.join(a, f), os.path.join(c, f), shallow=False),
                  "a different seed gave the same %s" % f)
        # Bad option combinations are refused with a message naming the problem.
        r = make(src, os.path.join(tmp, "d"), "--layers", "3", "--kv-shared", "3")
        check(r.returncode != 0 and "--kv-shared" in r.stderr, "kv-shared >= layers accepted: %r" % r.stderr)


PARITY_CASES = [
    ("community", "q4", 1), ("community", "q4", 600),
    ("community", "q4f16", 17), ("community", "q4f16", 600),
    ("no-logits-to-keep", "q4", 17), ("no-logits-to-keep", "q4f16", 600),
    ("sidecar-split", "q4", 40),
    ("kv-shared-alt", "q4", 600), ("kv-shared-alt", "q4f16", 17),
]


def check_parity(src, models):
    def run(case):
        name, dtype, length = case
        prompt = prompt_of(length, seed=length)
        model = os.path.join(models, name)
        ref = generate(src, model, dtype, prompt)
        tjs = generate(src, model, dtype, prompt, script="tjs_generate.mjs")
        return case, ref, tjs

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for (name, dtype, length), (ref, ref_err), (tjs, tjs_err) in pool.map(run, PARITY_CASES):
            what = "%s/%s prompt of %d tokens" % (name, dtype, length)
            if not check(ref is not None, "%s: reference_loop failed: %s" % (what, ref_err)):
                continue
            if not check(tjs is not None, "%s: tjs_generate failed: %s" % (what, tjs_err)):
                continue
            check(len(ref) == 64 or (ref and ref[-1] in (1, 106, 50)),
                  "%s: reference stopped early without EOS: %s" % (what, ref))
            if check(ref == tjs, "%s: reference_loop and transformers.js disagree\n  ref %s\n  tjs %s"
                     % (what, ref, tjs)):
                print("ok  %-40s %d tokens, %d distinct" % (what, len(ref), len(set(ref))))


PERTURBATIONS = ["--bad-positions", "--drop-per-layer", "--no-kv-feedback", "--bad-mask-length"]


def check_perturbations(src, models):
    # 20 tokens: longer than the sliding window (8), so both attention types matter.
    prompt = prompt_of(20, seed=3)
    for name, dtype in (("text-q4", "q4"), ("text-q4f16", "q4f16")):
        model = os.path.join(models, name)
        base, err = generate(src, model, dtype, prompt, max_new=24)
        if not check(base is not None, "%s: baseline failed: %s" % (name, err)):
            continue
        for flag in PERTURBATIONS:
            out, err = generate(src, model, dtype, prompt, extra=[flag], max_new=24)
            if out is None:
                print("ok  %s %-18s fails loudly: %s" % (name, flag, err.splitlines()[-1][:120]))
                continue
            first = next((i for i, (x, y) in enumerate(zip(base, out)) if x != y), None)
            if check(out != base, "%s: %s did not change the generated tokens %s" % (name, flag, base)):
                print("ok  %s %-18s changes the tokens from step %s" % (name, flag, first))


def check_varied(src, models):
    for length, seed in ((1, 0), (12, 1), (30, 2)):
        prompt = prompt_of(length, seed)
        out, err = generate(src, os.path.join(models, "text-q4"), "q4", prompt)
        if not check(out is not None, "generation failed: %s" % err):
            continue
        top = max(out.count(t) for t in set(out))
        print("prompt %d tokens: %d generated, %d distinct, most frequent id %d times"
              % (length, len(out), len(set(out)), top))
        if len(out) == 64:
            check(len(set(out)) >= 16, "only %d distinct ids in 64 greedy steps: %s" % (len(set(out)), out))
            check(top <= 16, "one id repeated %d times in 64 steps: %s" % (top, out))


SPECIALS = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<|tool>": 46, "<tool|>": 47, "<|tool_call>": 48,
            "<tool_call|>": 49, "<|tool_response>": 50, "<tool_response|>": 51, '<|"|>': 52, "<|turn>": 105,
            "<turn|>": 106}
TEXTS = ["Hello world", "  leading spaces and\n\nnewlines\n", "Bonjour, ça va ? Très bien !", "你好，世界",
         "Привет, мир", "emoji 🙂🦜 and unseen ᚠᛇᚻ", "<|turn>user\nHi<turn|>\n<|turn>model\n",
         "tabs\tand <|\"|>quotes<|\"|>", "<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>}<tool_call|>"]


def check_tokenizer(src, models):
    for name in ("text-q4", "community"):
        pkg = os.path.join(models, name)
        tok = json.load(open(os.path.join(pkg, "tokenizer.json"), encoding="utf-8"))
        cfg = json.load(open(os.path.join(pkg, "config.json"), encoding="utf-8"))
        text_cfg = cfg.get("text_config", cfg)
        vocab = tok["model"]["vocab"]
        check(len(vocab) == text_cfg["vocab_size"], "%s: tokenizer has %d ids, config vocab_size %d"
              % (name, len(vocab), text_cfg["vocab_size"]))
        check(sorted(vocab.values()) == list(range(len(vocab))), "%s: vocab ids are not dense" % name)
        for piece, i in SPECIALS.items():
            check(vocab.get(piece) == i, "%s: %s has id %s, expected %d" % (name, piece, vocab.get(piece), i))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
            json.dump(TEXTS, f)
        try:
            r = node(src, "tokenizer_roundtrip.mjs", os.path.join(pkg, "tokenizer.json"), f.name)
        finally:
            os.unlink(f.name)
        if not check(r.returncode == 0, "%s: HF tokenizers rejected tokenizer.json: %s" % (name, r.stderr)):
            continue
        results = json.loads(r.stdout)
        for text, res in zip(TEXTS, results):
            check(res["ids"][0] == 2, "%r: no <bos> first: %s" % (text, res["ids"]))
            check(res["decoded"] == "<bos>" + text, "%r does not round-trip: %r" % (text, res["decoded"]))
            for piece, i in SPECIALS.items():
                if piece in text:
                    check(i in res["ids"], "%r: special %s not encoded as id %d" % (text, piece, i))
        check(any(t.startswith("<0x") for t in results[5]["tokens"]), "unseen characters did not use byte fallback")
        check(len(results[0]["ids"]) <= 4, "'Hello world' took %d tokens: merges not applied" % len(results[0]["ids"]))
    print("tokenizer.json accepted by @anush008/tokenizers; %d texts round-trip" % len(TEXTS))


TEMPLATE_CASES = [
    {"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": True},
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "<|channel>thought\nplan<channel|>Hello!"},
                  {"role": "user", "content": "Bye"}], "add_generation_prompt": True, "enable_thinking": True},
    {"messages": [{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                      "name": "get_weather", "arguments": {"location": "Paris", "days": 3, "metric": True}}}]},
                  {"role": "tool", "name": "get_weather", "content": {"temp": 21, "sky": "clear"}},
                  {"role": "assistant", "content": "21 degrees and clear."}],
     "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"},
                                                                "days": {"type": "integer"}},
                               "required": ["location"]}}}],
     "add_generation_prompt": True},
]


def check_template(src, models):
    import jinja2
    cfg = json.load(open(os.path.join(models, "community", "tokenizer_config.json"), encoding="utf-8"))
    check(not os.path.exists(os.path.join(models, "community", "chat_template.jinja")),
          "community package should carry the template only in tokenizer_config.json")
    with open(os.path.join(models, "text-q4", "chat_template.jinja"), encoding="utf-8") as f:
        template = f.read()
    check(cfg.get("chat_template") == template, "tokenizer_config.json chat_template differs from the .jinja file")
    env = jinja2.Environment()
    py = [env.from_string(template).render(bos_token="<bos>", **c) for c in TEMPLATE_CASES]
    check(py[0] == "<bos><|turn>user\nHi<turn|>\n<|turn>model\n", "plain prompt renders as %r" % py[0])
    check("<|turn>system\n<|think|>Be brief.<turn|>\n" in py[1] and "plan" not in py[1],
          "thinking / dropped thoughts wrong: %r" % py[1])
    check('<|tool>declaration:get_weather{description:<|"|>Current weather<|"|>,parameters:{' in py[2]
          and '<|tool_call>call:get_weather{location:<|"|>Paris<|"|>,days:3,metric:true}<tool_call|>' in py[2]
          and '<|tool_response>response:get_weather{temp:21,sky:<|"|>clear<|"|>}<tool_response|>' in py[2],
          "tool blocks wrong: %r" % py[2])
    script = ("import fs from 'node:fs'; import { Template } from '@huggingface/jinja';"
              "const [t, cases] = JSON.parse(fs.readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(cases.map((c) => new Template(t).render({bos_token: '<bos>', ...c}))));")
    r = subprocess.run(["node", "--input-type=module", "-e", script], cwd=os.path.join(src, "tests", "refs"),
                       input=json.dumps([template, TEMPLATE_CASES]), capture_output=True, text=True, timeout=60)
    if check(r.returncode == 0, "@huggingface/jinja failed: %s" % r.stderr):
        js = json.loads(r.stdout)
        for i, (a, b) in enumerate(zip(py, js)):
            check(a == b, "case %d: jinja2 and @huggingface/jinja differ\n  py %r\n  js %r" % (i, a, b))
    print("chat template: %d cases render the same in jinja2 and @huggingface/jinja" % len(TEMPLATE_CASES))


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check_contract(src, models):
    """The I/O contract of DESIGN.md §2, read back from the written files."""
    import onnx
    from onnx import TensorProto
    expect = {"text-q4": ("q4",), "text-q4f16": ("q4f16",), "text-q4-sidecar": ("q4",), "text-fp": ("fp32", "fp16"),
              "community": ("q4", "q4f16"), "no-logits-to-keep": ("q4", "q4f16"), "sidecar-split": ("q4",),
              "kv-shared-alt": ("q4", "q4f16")}
    suffix = {"q4": "_q4", "q4f16": "_q4f16", "fp16": "_fp16", "fp32": ""}
    for name, dtypes in expect.items():
        pkg = os.path.join(models, name)
        cfg = json.load(open(os.path.join(pkg, "config.json"), encoding="utf-8"))
        gen = json.load(open(os.path.join(pkg, "generation_config.json"), encoding="utf-8"))
        check(gen["eos_token_id"] == [1, 106, 50] and gen["bos_token_id"] == 2 and gen["pad_token_id"] == 0,
              "%s: generation_config ids %s" % (name, gen))
        if name.startswith("text"):
            check(cfg["model_type"] == "gemma4_text" and "text_config" not in cfg, "%s: not the text layout" % name)
            tc = cfg
        else:
            check(cfg["model_type"] == "gemma4" and cfg["architectures"] == ["Gemma4ForConditionalGeneration"]
                  and cfg["text_config"]["model_type"] == "gemma4_text", "%s: not the community layout" % name)
            tc = cfg["text_config"]
        n_layers, shared = tc["num_hidden_layers"], tc["num_kv_shared_layers"]
        check(shared > 0 and len(tc["layer_types"]) == n_layers, "%s: layer config %s" % (name, tc["layer_types"]))
        for dtype in dtypes:
            act = TensorProto.FLOAT16 if "16" in dtype else TensorProto.FLOAT
            where = "%s/%s" % (name, dtype)
            emb = onnx.load(os.path.join(pkg, "onnx", "embed_tokens%s.onnx" % suffix[dtype]))
            out = {o.name: o for o in emb.graph.output}
            check(_dims(out["per_layer_inputs"])[2:] == [n_layers, tc["hidden_size_per_layer_input"]],
                  "%s: per_layer_inputs dims %s" % (where, _dims(out["per_layer_inputs"])))
            dec = onnx.load(os.path.join(pkg, "onnx", "decoder_model_merged%s.onnx" % suffix[dtype]))
            ins = {i.name: i for i in dec.graph.input}
            past = sorted(n for n in ins if n.startswith("past_key_values."))
            check(len(past) == 2 * (n_layers - shared), "%s: %d past inputs for %d layers, %d shared"
                  % (where, len(past), n_layers, shared))
            for i in range(n_layers - shared):
                want = tc["global_head_dim"] if tc["layer_types"][i] == "full_attention" else tc["head_dim"]
                d = _dims(ins["past_key_values.%d.key" % i])
                check(d == ["batch_size", tc["num_key_value_heads"], "past_sequence_length", want],
                      "%s: past_key_values.%d.key dims %s" % (where, i, d))
            check(ins["inputs_embeds"].type.tensor_type.elem_type == act, "%s: inputs_embeds dtype" % where)
            check(ins["attention_mask"].type.tensor_type.elem_type == TensorProto.INT64, "%s: mask dtype" % where)
            check(("num_logits_to_keep" in ins) == (name != "no-logits-to-keep"), "%s: num_logits_to_keep" % where)
            nbits = [n for n in dec.graph.node if n.op_type == "MatMulNBits"]
            if dtype.startswith("q4"):
                check(len(nbits) > 7 * n_layers and all(
                    a.i == 4 for n in nbits for a in n.attribute if a.name == "bits"), "%s: MatMulNBits" % where)
            else:
                check(not nbits, "%s: MatMulNBits in a plain-weight variant" % where)
        data = sorted(f for f in os.listdir(os.path.join(pkg, "onnx")) if "onnx_data" in f)
        if name in ("community", "text-q4-sidecar"):
            check(data and all(f.endswith(".onnx_data") for f in data), "%s: sidecars %s" % (name, data))
        elif name == "sidecar-split":
            check(any(f.endswith(".onnx_data_2") for f in data), "%s: split sidecars %s" % (name, data))
        else:
            check(not data, "%s: unexpected sidecars %s" % (name, data))
    check(os.path.exists(os.path.join(models, "community", "onnx", "vision_encoder_q4f16.onnx")),
          "community: no vision encoder")
    print("contract checked on %d packages" % len(expect))


CHECKS = {"contract": check_contract, "determinism": check_determinism, "parity": check_parity, "perturbations": check_perturbations,
          "varied": check_varied, "tokenizer": check_tokenizer, "template": check_template}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("--source-dir", required=True)
    ap.add_argument("--models-dir", required=True)
    a = ap.parse_args()
    CHECKS[a.check](os.path.abspath(a.source_dir), os.path.abspath(a.models_dir))
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
