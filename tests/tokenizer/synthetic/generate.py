#!/usr/bin/python3
"""Writes the small synthetic tokenizer.json files of the parity test (run once; outputs are committed).

(The Strip decoder uses stop 0: the reference panics on an empty token when stop > 0.)
Each file exercises pipeline components the three real tokenizers do not use (Metaspace, Strip,
Lowercase, NFKC/NFD, StripAccents, Prepend, Digits, Punctuation, Whitespace, BertPreTokenizer,
every Split behaviour, added-token lstrip/rstrip/single_word/normalized, unk/fuse_unk,
continuing_subword_prefix/end_of_word_suffix, Template/Bert/Roberta processing, Strip/Metaspace
decoders). Expected outputs still come from the Rust reference at test time.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "token", "izer",
         "ing", "tion", "er", "an", "in", "on", "re", "12", "ab", "日本", "语"]


def bpe_vocab(alphabet, words, prefix="", suffix="", specials=()):
    vocab, merges = {}, []
    def add(t):
        if t not in vocab:
            vocab[t] = len(vocab)
    for s in specials:
        add(s)
    for c in alphabet:
        add(c)
        if prefix:
            add(prefix + c)
        if suffix:
            add(c + suffix)
    for w in words:
        cur = w[0]
        for c in w[1:]:
            right = (prefix + c) if prefix else c
            merges.append([cur, right])
            cur = cur + c
            add(cur)
    return vocab, merges


def byte_fallback_tokenizer():
    alphabet = [chr(c) for c in range(0x21, 0x7f)] + ["▁", "é", "日", "本", "语"]
    specials = ["<unk>", "<s>", "</s>", "<pad>"] + ["<0x%02X>" % b for b in range(256)]
    words = WORDS + ["▁the", "▁a", "▁▁", "▁▁▁▁"]
    vocab, merges = bpe_vocab(alphabet, words, specials=specials)
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 1, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 2, "content": "</s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": len(vocab), "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": True, "normalized": False, "special": True},
            {"id": len(vocab) + 1, "content": "[WORD]", "single_word": True, "lstrip": False, "rstrip": False, "normalized": False, "special": False},
            {"id": len(vocab) + 2, "content": "hello world", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"}, {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": "\\s{3,}"}, "content": "  "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]},
                                              "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": True},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def byte_level_tokenizer():
    # The GPT-2 byte alphabet.
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    alphabet = [chr(table[b]) for b in range(256)]
    words = ["Ġthe", "Ġquick", "Ġfox", "hello", "Ġworld", "ing", "er", "ĠĠ", "ĠĠĠĠ", "Ċ", "ĊĊ", "12", "Ġ-", "--"]
    vocab, merges = bpe_vocab(alphabet, words, specials=["<|end|>", "[CLS]", "[SEP]"])
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 0, "content": "<|end|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 1, "content": "[CLS]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 2, "content": "[SEP]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": len(vocab), "content": "café", "single_word": False, "lstrip": False, "rstrip": False, "normalized": True, "special": False},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}, {"type": "Prepend", "prepend": "-"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "Punctuation", "behavior": "Contiguous"},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[0-9]+"}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [" ".join(m) for m in merges]},
    }


def subword_tokenizer():
    alphabet = [chr(c) for c in range(0x21, 0x7f)]
    vocab, merges = bpe_vocab(alphabet, WORDS[:12], prefix="##", suffix="</w>", specials=["[UNK]", "<s>", "</s>"])
    for w in WORDS[:12]:
        vocab.setdefault(w + "</w>", len(vocab))
        merges.append([w, "##</w>"]) if False else None
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [
            {"id": 0, "content": "[UNK]", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 1, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
            {"id": 2, "content": "</s>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True},
        ],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}, {"type": "Whitespace"},
                                                                {"type": "Split", "pattern": {"String": "o"}, "behavior": "Isolated", "invert": False}]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1], "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "##"}, "content": ""},
                                                     {"type": "Replace", "pattern": {"Regex": "</w>"}, "content": " "},
                                                     {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


for name, fn in [("byte_fallback", byte_fallback_tokenizer), ("byte_level", byte_level_tokenizer), ("subword", subword_tokenizer)]:
    os.makedirs(os.path.join(HERE, name), exist_ok=True)
    with open(os.path.join(HERE, name, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(fn(), f, ensure_ascii=False)
