"""The Python module (python/gemma4, ctypes over the C API) against the test package and the CLI.

    GEMMA4_LIBRARY=.../libgemma4.so PYTHONPATH=python /usr/bin/python3 gemma4_module_test.py \
        --cli build/gemma4 --model build/test-models/text-q4 --readme README.md
"""
import argparse
import json
import os
import re
import subprocess
import sys
import unittest

import gemma4

ARGS = None
MODEL = None


def cli_run(*args):
    out = subprocess.run([ARGS.cli, "run", "-m", ARGS.model, "-t", "1", "--json", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


class ModuleTest(unittest.TestCase):
    def test_version(self):
        self.assertRegex(gemma4.version(), r"^\d+\.\d+\.\d+$")

    def test_facts(self):
        self.assertGreater(MODEL.vocab_size, 0)
        self.assertGreater(MODEL.max_context, 0)
        self.assertEqual(MODEL.eos_token_ids[0], 1)
        self.assertEqual(len(MODEL.eos_token_ids), 3)
        self.assertEqual(MODEL.dtype, "q4")
        self.assertTrue(MODEL.path.rstrip("/").endswith("text-q4"))

    def test_tokenizer(self):
        ids = MODEL.tokenize("Hello world")
        self.assertEqual(ids[0], 2)
        self.assertEqual(MODEL.tokenize("Hello world", add_special_tokens=False), ids[1:])
        self.assertEqual(MODEL.detokenize(ids), "Hello world")
        self.assertEqual(MODEL.detokenize(ids, skip_special_tokens=False), "<bos>Hello world")
        self.assertEqual(MODEL.token_to_piece(105), "<|turn>")
        with self.assertRaises(gemma4.Error) as e:
            MODEL.detokenize([MODEL.vocab_size + 10])
        self.assertEqual(e.exception.status, "invalid_argument")

    def test_template(self):
        text = MODEL.apply_chat_template([{"role": "user", "content": "hi"}], enable_thinking=True)
        self.assertIn("<|think|>", text)
        self.assertTrue(text.endswith("<|turn>model\n"))
        tools = [{"type": "function", "function": {"name": "get_weather", "description": "d"}}]
        self.assertIn("declaration:get_weather", MODEL.apply_chat_template([{"role": "user", "content": "x"}], tools))

    def test_generate_matches_the_cli(self):
        expected = cli_run("-p", "Hello", "--temp", "0", "-n", "8")
        ids = MODEL.tokenize(MODEL.apply_chat_template([{"role": "user", "content": "Hello"}]),
                             add_special_tokens=False)
        self.assertEqual(ids, expected["prompt_ids"])
        reply = MODEL.generate(ids, max_new_tokens=8, temperature=0)
        self.assertEqual(reply.ids, expected["output_ids"])
        self.assertEqual(reply.text, expected["text"])
        chat = MODEL.chat([{"role": "user", "content": "Hello"}], max_new_tokens=8, temperature=0)
        self.assertEqual(chat.ids, expected["output_ids"])
        self.assertEqual(chat.content, expected["content"])
        self.assertEqual(chat.stop_reason, expected["stop_reason"])
        self.assertEqual(chat.timings["prompt_tokens"], len(ids))

    def test_streaming(self):
        whole = MODEL.generate("Once upon", max_new_tokens=10, temperature=0, ignore_eos=True)
        stream = MODEL.generate("Once upon", stream=True, max_new_tokens=10, temperature=0, ignore_eos=True)
        pieces = list(stream)
        self.assertEqual("".join(pieces), whole.text)
        self.assertEqual(stream.reply.ids, whole.ids)
        chat = MODEL.chat([{"role": "user", "content": "Hello"}], stream=True, max_new_tokens=6, temperature=0)
        parts = list(chat)
        self.assertTrue(all(kind in ("content", "reasoning", "tool_call") for kind, _ in parts))
        self.assertEqual("".join(t for k, t in parts if k == "content"), chat.reply.content)

    def test_stream_closed_early_cancels(self):
        stream = MODEL.generate("Once upon", stream=True, max_new_tokens=0, temperature=0, ignore_eos=True)
        next(stream)
        stream.close()
        self.assertEqual(stream.reply.stop_reason, "cancelled")

    def test_sampling(self):
        a = MODEL.generate("Once upon", max_new_tokens=16, temperature=1.5, top_k=0, top_p=1.0, seed=7,
                           ignore_eos=True)
        b = MODEL.generate("Once upon", max_new_tokens=16, temperature=1.5, top_k=0, top_p=1.0, seed=7,
                           ignore_eos=True)
        self.assertEqual(a.ids, b.ids)
        draws = {tuple(MODEL.generate("Once upon", max_new_tokens=16, temperature=1.5, top_k=0, top_p=1.0,
                                      ignore_eos=True).ids) for _ in range(4)}
        self.assertGreater(len(draws), 1)  # no seed: a random one each call
        stopped = MODEL.generate("Once upon", max_new_tokens=16, temperature=0, ignore_eos=True)
        if len(stopped.text) > 4:
            stop = stopped.text[2:4]
            cut = MODEL.generate("Once upon", max_new_tokens=16, temperature=0, ignore_eos=True, stop=[stop])
            self.assertEqual(cut.stop_reason, "stop")
            self.assertNotIn(stop, cut.text)
        banned = MODEL.generate("Once upon", max_new_tokens=1, temperature=0,
                                logit_bias={stopped.ids[0]: float("-inf")})
        self.assertNotEqual(banned.ids[0], stopped.ids[0])

    def test_conversation(self):
        chat = MODEL.conversation(system="Be brief.")
        first = chat.send("Hello", max_new_tokens=5, temperature=0)
        second = chat.send("And then?", max_new_tokens=5, temperature=0)
        self.assertGreater(second.timings["reused_tokens"], 0)
        roles = [m["role"] for m in chat.messages]
        self.assertEqual(roles, ["system", "user", "assistant", "user", "assistant"])
        self.assertEqual(chat.messages[2]["content"], first.content)
        chat.add_message({"role": "tool", "name": "clock", "content": "noon"})
        chat.continue_(max_new_tokens=3, temperature=0)
        self.assertEqual(chat.messages[-2]["role"], "tool")
        pieces = list(chat.send("More", stream=True, max_new_tokens=3, temperature=0))
        self.assertEqual(chat.messages[-1]["content"], "".join(t for k, t in pieces if k == "content"))
        chat.reset()
        self.assertEqual([m["role"] for m in chat.messages], ["system"])
        again = chat.send("Hello", max_new_tokens=5, temperature=0)
        self.assertEqual(again.ids, first.ids)

    def test_constrained_output(self):
        schema = {"type": "object", "properties": {"n": {"type": "integer"}, "tags": {
            "type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2}},
            "required": ["n", "tags"], "additionalProperties": False}
        reply = MODEL.chat([{"role": "user", "content": "Hello"}], max_new_tokens=96, temperature=0,
                           json_schema={"strict": True, "schema": schema})
        value = json.loads(reply.text)  # random weights, still valid by construction
        self.assertEqual(sorted(value), ["n", "tags"])
        self.assertIsInstance(value["n"], int)
        self.assertLessEqual(len(value["tags"]), 2)
        self.assertTrue(all(isinstance(t, str) and len(t) <= 4 for t in value["tags"]))
        reply = MODEL.generate([2, 105], max_new_tokens=4, temperature=0, grammar='root ::= "yes" | "no"')
        self.assertIn(reply.text, ("yes", "no"))
        with self.assertRaises(gemma4.Error) as e:
            MODEL.generate([2, 105], grammar="root ::= (")
        self.assertIn("grammar:1:", str(e.exception))

    def test_errors_carry_the_library_message(self):
        with self.assertRaises(gemma4.Error) as e:
            gemma4.Model("/nonexistent/package")
        self.assertEqual(e.exception.status, "not_found")
        self.assertIn("/nonexistent/package", str(e.exception))
        with self.assertRaises(gemma4.Error) as e:
            MODEL.generate([1, 2], top_p=1.5)
        self.assertIn("top_p must be in (0, 1], got 1.5", str(e.exception))
        with self.assertRaises(TypeError):
            MODEL.generate([1, 2], temprature=0)
        with self.assertRaises(gemma4.Error):
            MODEL.conversation().add_message({"content": "no role"})

    def test_readme_example(self):
        """The README's Python example (the model card's loop, rewritten) runs and prints the
        greedy answer `gemma4 run --temp 0` gives."""
        with open(ARGS.readme, encoding="utf-8") as f:
            readme = f.read()
        match = re.search(r"<!-- python-example -->\s*```python\n(.*?)```", readme, re.S)
        self.assertIsNotNone(match, "README.md has no python-example block")
        code = match.group(1)
        repo = re.search(r'gemma4\.Model\("([^"]+)"', code).group(1)
        code = code.replace('"%s"' % repo, repr(ARGS.model) + ", threads=1")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                             env=dict(os.environ)).stdout
        prompt = re.search(r'"content": "([^"]+)"', code).group(1)
        n = re.search(r"max_new_tokens=(\d+)", code).group(1)
        expected = cli_run("-p", prompt, "--temp", "0", "-n", n)
        self.assertEqual(out, expected["content"] + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--readme", required=True)
    ARGS, rest = parser.parse_known_args()
    MODEL = gemma4.Model(ARGS.model, threads=1)
    unittest.main(argv=[sys.argv[0]] + rest)
