"""Renders {"template": ..., "variables": {...}} (a JSON file) with jinja2 the way transformers'
apply_chat_template does (sandboxed, trim_blocks, lstrip_blocks, loop controls) and prints
{"ok": true, "output": ...} or {"ok": false, "error": ...}."""
import json
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment

request = json.load(open(sys.argv[1], encoding="utf-8"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda x, indent=None: json.dumps(x, ensure_ascii=False, indent=indent)
try:
    out = {"ok": True, "output": env.from_string(request["template"]).render(**request["variables"])}
except Exception as e:  # noqa: BLE001 - the failure is the result to compare
    out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
print(json.dumps(out))
