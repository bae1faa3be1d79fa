"""A tiny BPE trainer and the Gemma-style tokenizer.json / tokenizer_config.json it feeds.

The structure follows the Gemma tokenizers (BPE with byte_fallback, spaces replaced by U+2581
in the normalizer, newline runs split apart, <bos> added by a TemplateProcessing post-processor,
decoder Replace + ByteFallback + Fuse); the vocabulary is learned here from corpus.py.
"""
import heapq
import re
from collections import Counter, defaultdict

from corpus import CORPUS

SPACE = "\u2581"

# Special tokens at the ids of the real Gemma 4 vocabulary (DESIGN.md §2); unused ids in the
# special block are filled with <unused_N> like the real vocabulary does.
SPECIAL_TOKENS = {
    0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", 4: "<mask>",
    46: "<|tool>", 47: "<tool|>", 48: "<|tool_call>", 49: "<tool_call|>",
    50: "<|tool_response>", 51: "<tool_response|>", 52: '<|"|>',
    98: "<|think|>", 100: "<|channel>", 101: "<channel|>",
    103: "<|image|>", 104: "<|audio|>", 105: "<|turn>", 106: "<turn|>",
}
SPECIAL_BLOCK = 128            # ids [0, 128) are special / unused; byte tokens follow
BYTE_BASE = SPECIAL_BLOCK      # <0x00> .. <0xFF> at 128 .. 383


def _training_words(text):
    """Words as the tokenizer sees them: newline runs apart, every space turned into U+2581
    and kept at the start of the word that follows it."""
    words = Counter()
    for chunk in re.split(r"(\n+)", text):
        if not chunk:
            continue
        if chunk.startswith("\n"):
            words[chunk] += 1
            continue
        for w in re.findall(r" *[^ ]+| +$", chunk):
            words[w.replace(" ", SPACE)] += 1
    return words


def train(vocab_size):
    """Returns (pieces in id order after the byte tokens, merges as [left, right])."""
    words = _training_words(CORPUS)
    chars = Counter()
    for w, c in words.items():
        for ch in w:
            chars[ch] += c
    alphabet = sorted(chars, key=lambda ch: (-chars[ch], ch))
    pieces = list(alphabet)
    if SPACE not in pieces:
        pieces.insert(0, SPACE)
    n_merges = vocab_size - BYTE_BASE - 256 - len(pieces)

    seqs = [list(w) for w in words]
    counts = list(words.values())
    pair_count = Counter()
    where = defaultdict(set)
    for wi, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pair_count[(a, b)] += counts[wi]
            where[(a, b)].add(wi)
    # Max-heap with lazy invalidation; ties go to the lexicographically smaller pair.
    heap = [(-c, pair) for pair, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    known = set(pieces)
    while len(merges) < n_merges and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc or negc == 0:
            continue
        a, b = pair
        new = a + b
        merges.append([a, b])
        if new not in known:
            known.add(new)
            pieces.append(new)
        touched = Counter()
        for wi in list(where[pair]):
            s = seqs[wi]
            c = counts[wi]
            for x, y in zip(s, s[1:]):
                pair_count[(x, y)] -= c
                touched[(x, y)] += 0
            out, j = [], 0
            while j < len(s):
                if j + 1 < len(s) and s[j] == a and s[j + 1] == b:
                    out.append(new)
                    j += 2
                else:
                    out.append(s[j])
                    j += 1
            seqs[wi] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += c
                where[(x, y)].add(wi)
                touched[(x, y)] += 0
        for t in touched:
            if pair_count[t] > 0:
                heapq.heappush(heap, (-pair_count[t], t))
            else:
                pair_count.pop(t, None)
    return pieces, merges


def _added(i, content, special=True):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def build(vocab_size=1536):
    """Returns (tokenizer.json dict, tokenizer_config base dict, actual vocab size)."""
    pieces, merges = train(vocab_size)
    vocab = {}
    added = []
    for i in range(SPECIAL_BLOCK):
        name = SPECIAL_TOKENS.get(i, "<unused_%d>" % i)
        vocab[name] = i
        added.append(_added(i, name, special=i in SPECIAL_TOKENS))
    for b in range(256):
        vocab["<0x%02X>" % b] = BYTE_BASE + b
    for p in pieces:
        if p not in vocab:
            vocab[p] = len(vocab)
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": SPACE},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\n+"}, "behavior": "Isolated", "invert": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<bos>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [2], "tokens": ["<bos>"]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
        "bos_token": "<bos>",
        "eos_token": "<eos>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1000000000000000019884624838656,
        "padding_side": "left",
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
    }
    return tokenizer, config, len(vocab)
