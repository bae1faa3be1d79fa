#!/usr/bin/python3
"""Reference renderer for the chat-template parity tests.

Renders chat templates with Debian's python3-jinja2 in the environment transformers'
apply_chat_template builds (transformers/utils/chat_template_utils.py): an
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the loopcontrols extension,
`tojson` replaced by json.dumps(ensure_ascii=False, indent, separators, sort_keys) without HTML
escaping, and the raise_exception / strftime_now globals. The variables are those of
apply_chat_template: messages, tools (None when absent), documents (None),
add_generation_prompt, the tokenizer's special_tokens_map, then the caller's extra kwargs.

Usage: reference_render.py JOBS.json OUT.json
JOBS is a list of jobs, each either
  {"id": ..., "kind": "chat", "package": DIR, "fixture": FILE, "add_generation_prompt": bool}
or
  {"id": ..., "kind": "snippet", "template": SOURCE, "vars": {...}}
OUT is a list of {"id", "ok", "output"} or {"id", "ok": false, "raised": bool, "error": str}.
"""
import json
import os
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class RaisedByTemplate(jinja2.exceptions.TemplateError):
    """What raise_exception() raises, so the tests can require the same message."""


def raise_exception(message):
    raise RaisedByTemplate(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: transformers registers this tag (to track which
    output is the assistant's); for rendering it outputs its body, called like a macro body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


SPECIAL_TOKEN_ATTRIBUTES = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                            "mask_token", "additional_special_tokens"]


def token_content(value):
    if isinstance(value, dict):  # serialized AddedToken
        return value.get("content")
    return value


def load_package(directory):
    """(template source, special tokens map) the way transformers loads a tokenizer directory."""
    config = {}
    config_path = os.path.join(directory, "tokenizer_config.json")
    if os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
    special = {}
    for attr in SPECIAL_TOKEN_ATTRIBUTES:
        value = config.get(attr)
        if attr == "additional_special_tokens":
            value = [token_content(v) for v in value] if value else value
        else:
            value = token_content(value)
        if value:
            special[attr] = value
    for key, value in (config.get("extra_special_tokens") or {}).items():
        if isinstance(config.get("extra_special_tokens"), dict) and key not in special:
            special[key] = token_content(value)
    jinja_path = os.path.join(directory, "chat_template.jinja")
    if os.path.exists(jinja_path):
        with open(jinja_path, encoding="utf-8", newline="") as f:
            return f.read(), special
    template = config["chat_template"]
    if isinstance(template, list):
        template = {t["name"]: t["template"] for t in template}["default"]
    return template, special


_compiled = {}


def render(env, source, variables):
    try:
        if source not in _compiled:
            _compiled[source] = env.from_string(source)
        return {"ok": True, "output": _compiled[source].render(**variables)}
    except RaisedByTemplate as e:
        return {"ok": False, "raised": True, "error": str(e)}
    except Exception as e:  # noqa: BLE001 - any failure is an expected outcome to compare
        return {"ok": False, "raised": False, "error": f"{type(e).__name__}: {e}"}


def run_job(env, job):
    if job["kind"] == "snippet":
        return render(env, job["template"], job.get("vars", {}))
    source, special = load_package(job["package"])
    with open(job["fixture"], encoding="utf-8") as f:
        fixture = json.load(f)
    if isinstance(fixture, list):
        fixture = {"messages": fixture}
    variables = {
        # As transformers passes them: tool-call arguments given as a JSON string stay a string.
        "messages": fixture["messages"],
        "tools": fixture.get("tools"),
        "documents": None,
        "add_generation_prompt": job["add_generation_prompt"],
    }
    variables.update(special)
    variables.update(fixture.get("vars", {}))
    return render(env, source, variables)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        jobs = json.load(f)
    env = make_env()
    results = []
    for job in jobs:
        result = run_job(env, job)
        result["id"] = job["id"]
        results.append(result)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
