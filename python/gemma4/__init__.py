"""gemma4: Gemma 4 E2B INT4 ONNX from Python, over libgemma4's C API (ctypes, no build step).

    import gemma4
    model = gemma4.Model("path/to/package")
    reply = model.chat([{"role": "user", "content": "Bonjour !"}], max_new_tokens=64, temperature=0)
    print(reply.content)

Model is immutable and may be shared by threads; a Conversation, like a C session, is used by one
thread at a time. Errors raise gemma4.Error carrying the library's message and status.
"""
import ctypes
import json
import math
import os
import queue
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_double, c_float, c_int, c_int32, c_size_t,
                    c_uint64, c_void_p)

__all__ = ["Model", "Conversation", "Reply", "Stream", "Error", "version"]

_SEED_RANDOM = 2**64 - 1
_STATUS = ["ok", "invalid_argument", "not_found", "corrupt", "unsupported", "limit", "runtime", "cancelled",
           "internal"]
_STOP = ["eos", "length", "stop", "cancelled"]
_KINDS = ["content", "reasoning", "tool_call"]


class Error(Exception):
    """A failure reported by libgemma4: `status` names its kind ("not_found", ...)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _find_library():
    override = os.environ.get("GEMMA4_LIBRARY")
    if override:
        return override
    here = os.path.dirname(os.path.abspath(__file__))
    # Installed as <prefix>/<libdir>/python3/dist-packages/gemma4: the library is in <libdir>.
    libdir = os.path.normpath(os.path.join(here, "..", "..", ".."))
    for name in sorted(os.listdir(libdir)) if os.path.isdir(libdir) else []:
        if name.startswith("libgemma4.so."):
            return os.path.join(libdir, name)
    return "libgemma4.so"


class _LoadParams(Structure):
    _fields_ = [("dtype", c_char_p), ("threads", c_int), ("device", c_char_p), ("embed_device", c_char_p),
                ("max_context", c_size_t)]


class _GenerateParams(Structure):
    _fields_ = [("max_new_tokens", c_size_t), ("temperature", c_float), ("top_k", c_int), ("top_p", c_float),
                ("min_p", c_float), ("typical_p", c_float), ("repetition_penalty", c_float),
                ("presence_penalty", c_float), ("frequency_penalty", c_float), ("do_sample", c_int),
                ("seed", c_uint64), ("logit_bias_ids", POINTER(c_int32)), ("logit_bias_values", POINTER(c_float)),
                ("n_logit_bias", c_size_t), ("stop", POINTER(c_char_p)), ("n_stop", c_size_t),
                ("ignore_eos", c_int), ("draft_max", c_size_t), ("draft_ngram", c_size_t), ("cancel", c_void_p),
                ("grammar", c_char_p), ("json_schema", c_char_p), ("json_schema_strict", c_int)]


class _Timings(Structure):
    _fields_ = [("load_ms", c_double), ("prefill_ms", c_double), ("decode_ms", c_double),
                ("prompt_tokens", c_size_t), ("reused_tokens", c_size_t), ("generated_tokens", c_size_t),
                ("decode_calls", c_size_t), ("draft_tokens", c_size_t), ("accepted_tokens", c_size_t)]


_StreamCallback = CFUNCTYPE(c_int, c_int, POINTER(ctypes.c_char), c_size_t, c_void_p)
_LogCallback = CFUNCTYPE(None, c_int, c_char_p, c_void_p)

_lib = ctypes.CDLL(_find_library())


def _sig(name, restype, *argtypes):
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_sig("gemma4_version", c_char_p)
_sig("gemma4_last_error", c_char_p)
_sig("gemma4_set_log_callback", None, _LogCallback, c_int, c_void_p)
_sig("gemma4_load_params_default", _LoadParams)
_sig("gemma4_model_load", c_int, c_char_p, POINTER(_LoadParams), POINTER(c_void_p))
_sig("gemma4_model_free", None, c_void_p)
_sig("gemma4_model_vocab_size", c_size_t, c_void_p)
_sig("gemma4_model_max_context", c_size_t, c_void_p)
_sig("gemma4_model_eos_ids", c_size_t, c_void_p, POINTER(c_int32), c_size_t)
_sig("gemma4_model_dtype", c_char_p, c_void_p)
_sig("gemma4_model_path", c_char_p, c_void_p)
_sig("gemma4_tokenize", c_int, c_void_p, c_char_p, c_int, POINTER(c_int32), c_size_t, POINTER(c_size_t))
_sig("gemma4_detokenize", c_int, c_void_p, POINTER(c_int32), c_size_t, c_int, POINTER(c_void_p))
_sig("gemma4_token_to_piece", c_int, c_void_p, c_int32, POINTER(c_void_p))
_sig("gemma4_string_free", None, c_void_p)
_sig("gemma4_render_chat", c_int, c_void_p, c_char_p, c_char_p, c_char_p, c_int, POINTER(c_void_p))
_sig("gemma4_generate_params_default", _GenerateParams)
_sig("gemma4_cancel_new", c_void_p)
_sig("gemma4_cancel_free", None, c_void_p)
_sig("gemma4_cancel_set", None, c_void_p)
_sig("gemma4_result_free", None, c_void_p)
_sig("gemma4_result_text", c_char_p, c_void_p)
_sig("gemma4_result_content", c_char_p, c_void_p)
_sig("gemma4_result_reasoning", c_char_p, c_void_p)
_sig("gemma4_result_tool_calls", c_char_p, c_void_p)
_sig("gemma4_result_ids", POINTER(c_int32), c_void_p, POINTER(c_size_t))
_sig("gemma4_result_stop_reason", c_int, c_void_p)
_sig("gemma4_result_timings", _Timings, c_void_p)
_sig("gemma4_session_new", c_void_p, c_void_p)
_sig("gemma4_session_free", None, c_void_p)
_sig("gemma4_session_generate", c_int, c_void_p, POINTER(c_int32), c_size_t, POINTER(_GenerateParams),
     _StreamCallback, c_void_p, POINTER(c_void_p))
_sig("gemma4_session_chat", c_int, c_void_p, c_char_p, c_char_p, c_char_p, POINTER(_GenerateParams),
     _StreamCallback, c_void_p, POINTER(c_void_p))
_sig("gemma4_conversation_new", c_void_p, c_void_p)
_sig("gemma4_conversation_free", None, c_void_p)
_sig("gemma4_conversation_set_system", c_int, c_void_p, c_char_p)
_sig("gemma4_conversation_set_tools", c_int, c_void_p, c_char_p)
_sig("gemma4_conversation_set_variables", c_int, c_void_p, c_char_p)
_sig("gemma4_conversation_add_message", c_int, c_void_p, c_char_p)
_sig("gemma4_conversation_send", c_int, c_void_p, c_char_p, POINTER(_GenerateParams), _StreamCallback, c_void_p,
     POINTER(c_void_p))
_sig("gemma4_conversation_continue", c_int, c_void_p, POINTER(_GenerateParams), _StreamCallback, c_void_p,
     POINTER(c_void_p))
_sig("gemma4_conversation_messages", c_int, c_void_p, POINTER(c_void_p))
_sig("gemma4_conversation_reset", None, c_void_p)


def version():
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.gemma4_version().decode()


def _check(status):
    if status != 0:
        name = _STATUS[status] if 0 <= status < len(_STATUS) else str(status)
        raise Error(name, _lib.gemma4_last_error().decode("utf-8", "replace"))


def _take_string(ptr):
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", "replace") if ptr.value else ""
    finally:
        _lib.gemma4_string_free(ptr)


def _json_arg(value):
    return None if value is None else json.dumps(value, ensure_ascii=False).encode()


_SAMPLING = {"max_new_tokens", "max_tokens", "temperature", "top_k", "top_p", "min_p", "typical_p",
             "repetition_penalty", "presence_penalty", "frequency_penalty", "do_sample", "seed", "stop",
             "ignore_eos", "logit_bias", "draft_max", "draft_ngram", "grammar", "json_schema"}


class _Params:
    """gemma4_generate_params from keyword arguments; keeps the buffers it points to alive."""

    def __init__(self, options, cancel=None):
        unknown = set(options) - _SAMPLING
        if unknown:
            raise TypeError("unknown generation option(s): " + ", ".join(sorted(unknown)))
        p = _lib.gemma4_generate_params_default()
        for key, value in options.items():
            if value is None:
                continue
            if key in ("max_new_tokens", "max_tokens"):
                p.max_new_tokens = int(value)
            elif key == "do_sample":
                p.do_sample = 1 if value else 0
            elif key == "seed":
                p.seed = int(value) & (2**64 - 1)
            elif key == "stop":
                stops = [value] if isinstance(value, str) else list(value)
                self._stop = (c_char_p * len(stops))(*[s.encode() for s in stops])
                p.stop, p.n_stop = ctypes.cast(self._stop, POINTER(c_char_p)), len(stops)
            elif key == "logit_bias":
                items = list(dict(value).items())
                self._ids = (c_int32 * len(items))(*[int(k) for k, _ in items])
                self._values = (c_float * len(items))(*[float(v) for _, v in items])
                p.logit_bias_ids, p.logit_bias_values, p.n_logit_bias = self._ids, self._values, len(items)
            elif key == "ignore_eos":
                p.ignore_eos = 1 if value else 0
            elif key == "grammar":  # GBNF text
                self._grammar = str(value).encode()
                p.grammar = self._grammar
            elif key == "json_schema":  # a dict or JSON text; {"strict": True, "schema": {...}} for strict mode
                schema = value
                if isinstance(schema, dict) and "schema" in schema and "strict" in schema:
                    p.json_schema_strict = 1 if schema["strict"] else 0
                    schema = schema["schema"]
                self._schema = (schema if isinstance(schema, str) else json.dumps(schema)).encode()
                p.json_schema = self._schema
            elif key in ("top_k", "draft_max", "draft_ngram"):
                setattr(p, key, int(value))
            else:
                setattr(p, key, float(value))
        if cancel is not None:
            p.cancel = cancel
        self.struct = p


class Reply:
    """What one generation produced: the parsed reply and the raw generation."""

    def __init__(self, handle):
        self.text = _lib.gemma4_result_text(handle).decode("utf-8", "replace")
        self.content = _lib.gemma4_result_content(handle).decode("utf-8", "replace")
        self.reasoning = _lib.gemma4_result_reasoning(handle).decode("utf-8", "replace")
        self.tool_calls = json.loads(_lib.gemma4_result_tool_calls(handle).decode("utf-8", "replace"))
        n = c_size_t(0)
        ids = _lib.gemma4_result_ids(handle, byref(n))
        self.ids = [ids[i] for i in range(n.value)]
        self.stop_reason = _STOP[_lib.gemma4_result_stop_reason(handle)]
        t = _lib.gemma4_result_timings(handle)
        self.timings = {name: getattr(t, name) for name, _ in _Timings._fields_}

    def __repr__(self):
        return "Reply(content=%r, reasoning=%r, tool_calls=%r, stop_reason=%r)" % (
            self.content, self.reasoning, self.tool_calls, self.stop_reason)


class Stream:
    """Iterates over (kind, text) pieces while generation runs on a worker thread ("content",
    "reasoning"; "tool_call" pieces carry the call as a dict). `reply` holds the Reply once the
    iteration ended; leaving the loop early (close()) cancels generation."""

    def __init__(self, run, options, kinds=False):
        self._queue = queue.Queue()
        self._kinds = kinds
        self._cancel = _lib.gemma4_cancel_new()
        self._params = _Params(options, self._cancel)
        self.reply = None
        self._error = None

        def on_piece(kind, text, length, _user):
            self._queue.put((_KINDS[kind], ctypes.string_at(text, length).decode("utf-8", "replace")))
            return 1

        self._callback = _StreamCallback(on_piece)

        def work():
            try:
                self.reply = run(self._params, self._callback)
            except BaseException as e:  # handed to the iterating thread
                self._error = e
            finally:
                self._queue.put(None)

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is None:
            self._finish()
            if self._error is not None:
                raise self._error
            raise StopIteration
        kind, text = item
        if kind == "tool_call":
            text = json.loads(text)
        return (kind, text) if self._kinds else text

    def close(self):
        if self._cancel is not None:
            _lib.gemma4_cancel_set(self._cancel)
        while self._thread.is_alive() or not self._queue.empty():
            if self._queue.get() is None:
                break
        self._finish()

    def _finish(self):
        self._thread.join()
        if self._cancel is not None:
            _lib.gemma4_cancel_free(self._cancel)
            self._cancel = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _run(call, params, callback):
    out = c_void_p()
    _check(call(byref(params.struct), callback or _StreamCallback(), byref(out)))
    try:
        return Reply(out)
    finally:
        _lib.gemma4_result_free(out)


class Model:
    """A loaded package (a directory, or a Hugging Face repo id in the local cache).

    Options: dtype ("q4"), threads (0: one per core), device ("cpu" or "cuda"), embed_device,
    max_context (0: the model's)."""

    def __init__(self, path, *, dtype="q4", threads=0, device="cpu", embed_device="cpu", max_context=0):
        p = _lib.gemma4_load_params_default()
        p.dtype, p.threads, p.device = dtype.encode(), int(threads), device.encode()
        p.embed_device, p.max_context = embed_device.encode(), int(max_context)
        handle = c_void_p()
        _check(_lib.gemma4_model_load(os.fspath(path).encode(), byref(p), byref(handle)))
        self._handle = handle
        self._session = None
        self._lock = threading.Lock()  # the model's own session (generate/chat) is used by one call at a time

    def __del__(self):
        if getattr(self, "_session", None):
            _lib.gemma4_session_free(self._session)
        if getattr(self, "_handle", None):
            _lib.gemma4_model_free(self._handle)

    vocab_size = property(lambda self: _lib.gemma4_model_vocab_size(self._handle))
    max_context = property(lambda self: _lib.gemma4_model_max_context(self._handle))
    dtype = property(lambda self: _lib.gemma4_model_dtype(self._handle).decode())
    path = property(lambda self: _lib.gemma4_model_path(self._handle).decode())

    @property
    def eos_token_ids(self):
        n = _lib.gemma4_model_eos_ids(self._handle, None, 0)
        buf = (c_int32 * max(n, 1))()
        _lib.gemma4_model_eos_ids(self._handle, buf, n)
        return list(buf[:n])

    # -- tokenizer --
    def tokenize(self, text, add_special_tokens=True):
        n = c_size_t(0)
        data = text.encode("utf-8", "surrogatepass")
        status = _lib.gemma4_tokenize(self._handle, data, int(add_special_tokens), None, 0, byref(n))
        if status not in (0, 5):
            _check(status)
        buf = (c_int32 * max(n.value, 1))()
        _check(_lib.gemma4_tokenize(self._handle, data, int(add_special_tokens), buf, n.value, byref(n)))
        return list(buf[:n.value])

    def detokenize(self, ids, skip_special_tokens=True):
        ids = list(ids)
        buf = (c_int32 * max(len(ids), 1))(*ids)
        out = c_void_p()
        _check(_lib.gemma4_detokenize(self._handle, buf, len(ids), int(skip_special_tokens), byref(out)))
        return _take_string(out)

    def token_to_piece(self, token):
        out = c_void_p()
        _check(_lib.gemma4_token_to_piece(self._handle, int(token), byref(out)))
        return _take_string(out)

    def apply_chat_template(self, messages, tools=None, add_generation_prompt=True, **variables):
        """The prompt text, as transformers' tokenizer.apply_chat_template(..., tokenize=False)."""
        out = c_void_p()
        _check(_lib.gemma4_render_chat(self._handle, _json_arg(messages), _json_arg(tools),
                                       _json_arg(variables), int(add_generation_prompt), byref(out)))
        return _take_string(out)

    # -- generation --
    def _own_session(self):
        if self._session is None:
            self._session = _lib.gemma4_session_new(self._handle)
            if not self._session:
                _check(1)
        return self._session

    def _prompt_ids(self, prompt):
        return self.tokenize(prompt) if isinstance(prompt, str) else [int(i) for i in prompt]

    def _generate_call(self, ids):
        buf = (c_int32 * max(len(ids), 1))(*ids)

        def run(params, callback):
            with self._lock:
                session = self._own_session()
                return _run(lambda p, cb, out: _lib.gemma4_session_generate(session, buf, len(ids), p, cb, None, out),
                            params, callback)
        return run

    def generate(self, prompt, *, stream=False, **options):
        """Continues `prompt` (token ids, or text tokenized as tokenizer(text) does) with no template.
        Options: max_new_tokens, temperature, top_k, top_p, min_p, typical_p, repetition_penalty,
        presence_penalty, frequency_penalty, do_sample, seed, stop, ignore_eos, logit_bias,
        draft_max, draft_ngram, grammar (GBNF text), json_schema (a schema, or {"strict": True,
        "schema": ...}); unset ones take generation_config.json's values. Returns a Reply,
        or with stream=True a Stream of text pieces."""
        run = self._generate_call(self._prompt_ids(prompt))
        if stream:
            return Stream(run, options)
        return run(_Params(options), None)

    def _chat_call(self, messages, tools, variables):
        m, t, v = _json_arg(messages), _json_arg(tools), _json_arg(variables)

        def run(params, callback):
            with self._lock:
                session = self._own_session()
                return _run(lambda p, cb, out: _lib.gemma4_session_chat(session, m, t, v, p, cb, None, out),
                            params, callback)
        return run

    def chat(self, messages, tools=None, *, stream=False, template_variables=None, **options):
        """One chat turn over `messages` (OpenAI / transformers shape): returns a Reply with
        .content, .reasoning and .tool_calls (OpenAI's shape, arguments as dicts); with
        stream=True a Stream of (kind, text) pieces. template_variables: e.g.
        {"enable_thinking": True}."""
        run = self._chat_call(messages, tools, template_variables or {})
        if stream:
            return Stream(run, options, kinds=True)
        return run(_Params(options), None)

    def conversation(self, system=None, tools=None, **template_variables):
        return Conversation(self, system=system, tools=tools, **template_variables)


class Conversation:
    """A multi-turn chat: the library keeps the messages and the KV cache of the turns so far."""

    def __init__(self, model, system=None, tools=None, **template_variables):
        self.model = model  # kept alive as long as the conversation
        self._handle = _lib.gemma4_conversation_new(model._handle)
        if not self._handle:
            _check(1)
        if system:
            self.system = system
        if tools is not None:
            self.tools = tools
        if template_variables:
            _check(_lib.gemma4_conversation_set_variables(self._handle, _json_arg(template_variables)))

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.gemma4_conversation_free(self._handle)

    def _set_system(self, text):
        _check(_lib.gemma4_conversation_set_system(self._handle, (text or "").encode()))

    def _set_tools(self, tools):
        _check(_lib.gemma4_conversation_set_tools(self._handle, _json_arg(tools)))

    system = property(None, _set_system)
    tools = property(None, _set_tools)

    @property
    def messages(self):
        out = c_void_p()
        _check(_lib.gemma4_conversation_messages(self._handle, byref(out)))
        return json.loads(_take_string(out))

    def add_message(self, message):
        _check(_lib.gemma4_conversation_add_message(self._handle, _json_arg(message)))

    def send(self, text, *, stream=False, **options):
        """Adds a user turn and generates the reply (a Reply, or a Stream of (kind, text))."""
        data = text.encode()

        def run(params, callback):
            return _run(lambda p, cb, out: _lib.gemma4_conversation_send(self._handle, data, p, cb, None, out),
                        params, callback)
        return Stream(run, options, kinds=True) if stream else run(_Params(options), None)

    def continue_(self, *, stream=False, **options):
        """Generates the next reply for the messages as they are (e.g. after a tool result)."""
        def run(params, callback):
            return _run(lambda p, cb, out: _lib.gemma4_conversation_continue(self._handle, p, cb, None, out),
                        params, callback)
        return Stream(run, options, kinds=True) if stream else run(_Params(options), None)

    def reset(self):
        """Forgets the messages (not the system message or tools) and the cache."""
        _lib.gemma4_conversation_reset(self._handle)
