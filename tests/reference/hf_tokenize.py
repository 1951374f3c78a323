"""transformers' own token ids for a checkpoint's tokenizer, as the reference for the project's TextTokenizer.

usage: /usr/bin/python3 -B tests/reference/hf_tokenize.py < requests.json

requests.json: one request, or a list of them (answered in one run: transformers is imported once) {
  "folder": a checkpoint folder (one of hfref's make_fixtures.py fixtures),
  "inputs": [text | [text, pair], ...],
  "max_length": n or null (truncate to n ids, the special tokens included),
  "add_special_tokens": true (default) or false,
  "split_special_tokens": true or false, passed to from_pretrained as transformers' init kwarg when given
      (which overrides tokenizer_config.json's field); left out, the folder's tokenizer_config.json decides
}

A request {"folder", "precompiled": [text, ...]} is answered instead with {"precompiled": [text, ...]}: each text
through tokjson.py's Precompiled normaliser alone, built from the folder's tokenizer.json (its first
Precompiled normaliser's charsmap), as tokenizers 0.19 applies it.

Prints JSON, one answer per request (a list for a list) {
  "class": the tokenizer class transformers picked,
  "split_special_tokens": the tokenizer's split_special_tokens, as transformers settled it,
  "slow": [{"ids", "attention_mask", "token_type_ids"}, ...]  transformers' pure-Python tokenizer
      (AutoTokenizer.from_pretrained(folder, use_fast=False): the Rust tokenizers are not installed here);
      with max_length, truncated by the Rust tokenizers' longest_first rule, which AutoTokenizer's default
      (fast) tokenizer and tokenizer.json follow (hfref's check_eval.longest_first, ported from tokenizers
      0.19.1): the slow tokenizer's pieces and special tokens, the fast tokenizer's cut,
  "slow_own_truncation": [...] or null  the slow tokenizer's own truncation (truncation=True), which keeps
      one token more of the FIRST sequence where the Rust rule keeps it in the second (odd budgets, both long),
  "tokenizer_json": [...] or null  for a Unigram tokenizer.json, hfref's tokjson.py reading of it (the Rust
      pipeline ported; DebertaV2Tokenizer runs sentencepiece on spm.model instead), with the same truncation;
      null for the other models, whose slow tokenizers read the same vocabulary the tokenizer.json holds
}
Every list holds one encoding per input, in order. No padding: attention masks are all ones. Without special
tokens token_type_ids is null: transformers refuses to return them then (undefined behaviour, it says).
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401  vendored transformers first, offline

import contextlib  # noqa: E402
import json  # noqa: E402

import regex  # noqa: E402
from check_eval import longest_first  # noqa: E402  the Rust rule, as hfref's own check uses it
import tokjson  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402


def encoding(ids, type_ids):
    return {"ids": list(ids), "attention_mask": [1] * len(ids),
            "token_type_ids": None if type_ids is None else list(type_ids)}


def slow_encodings(tok, inputs, max_length, add_special):
    out, own = [], []
    for item in inputs:
        a, b = (item, None) if isinstance(item, str) else item
        ia = tok(a, add_special_tokens=False)["input_ids"]
        ib = tok(b, add_special_tokens=False)["input_ids"] if b is not None else None
        if max_length is not None:
            specials = tok.num_special_tokens_to_add(pair=b is not None) if add_special else 0
            budget = max(0, max_length - specials)
            if ib is None:
                ia = ia[:budget]
            else:
                n1, n2 = longest_first(len(ia), len(ib), budget)
                ia, ib = ia[:n1], ib[:n2]
        if add_special:
            ids = tok.build_inputs_with_special_tokens(ia, ib)
            types = tok.create_token_type_ids_from_sequences(ia, ib)
        else:
            ids = ia + (ib or [])
            types = None  # transformers refuses to say (return_token_type_ids with add_special_tokens=False)
        out.append(encoding(ids, types))
        if max_length is not None:
            enc = tok(a, b, add_special_tokens=add_special, truncation=True, max_length=max_length,
                      return_token_type_ids=add_special or None)
            own.append(encoding(enc["input_ids"], enc.get("token_type_ids")))
        # The whole call must agree with the pieces put together, or the reference itself is in doubt.
        if max_length is None:
            whole = tok(a, b, add_special_tokens=add_special, return_token_type_ids=add_special or None)
            if whole["input_ids"] != ids or (add_special and whole["token_type_ids"] != types):
                raise SystemExit(f"hf_tokenize: {type(tok).__name__}({item!r}) gave {whole['input_ids']}, "
                                 f"its pieces with build_inputs_with_special_tokens {ids}")
    return out, (own if max_length is not None else None)


def template_type_ids(post, n1, n2):
    """Segment ids of tokenizer.json's TemplateProcessing for sequences of n1 (and n2) ids."""
    types = []
    for item in post["pair" if n2 is not None else "single"]:
        if "SpecialToken" in item:
            spec = post["special_tokens"][item["SpecialToken"]["id"]]
            types += [item["SpecialToken"]["type_id"]] * len(spec["ids"])
        else:
            seq = item["Sequence"]
            types += [seq["type_id"]] * (n1 if seq["id"] == "A" else n2)
    return types


def tokjson_encodings(folder, inputs, max_length, add_special, split_special):
    path = os.path.join(folder, "tokenizer.json")
    with open(path, encoding="utf-8") as f:
        if json.load(f)["model"]["type"] != "Unigram":
            return None
    tj = tokjson.TokenizerJson(path)
    if split_special:
        # tokenizers' encode_special_tokens: AddedVocabulary skips the special tokens when it splits the text.
        plain = sorted((c for c, t in tj.added.items() if not t.get("special")), key=len, reverse=True)
        tj.added_rx = regex.compile("|".join(regex.escape(c) for c in plain)) if plain else None
    out = []
    for item in inputs:
        a, b = (item, None) if isinstance(item, str) else item
        ia = tj.encode(a)
        ib = tj.encode(b) if b is not None else None
        if max_length is not None:
            budget = max(0, max_length - (tj.num_special_tokens(pair=b is not None) if add_special else 0))
            if ib is None:
                ia = ia[:budget]
            else:
                n1, n2 = longest_first(len(ia), len(ib), budget)
                ia, ib = ia[:n1], ib[:n2]
        if add_special and tj.post is not None:
            ids = tj.post_process(ia, ib)
            types = template_type_ids(tj.post, len(ia), None if ib is None else len(ib))
        else:
            ids = ia + (ib or [])
            types = None
        out.append(encoding(ids, types))
    return out


def precompiled(folder, texts):
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)["normalizer"]
    found = [n for n in ([spec] + spec.get("normalizers", [])) if n.get("type") == "Precompiled"]
    if not found:
        raise SystemExit(f"hf_tokenize: {folder}/tokenizer.json has no Precompiled normaliser")
    normalize = tokjson.Precompiled(found[0]["precompiled_charsmap"])
    return {"precompiled": [normalize(t) for t in texts]}


def answer(request):
    folder = request["folder"]
    if "precompiled" in request:
        return precompiled(folder, request["precompiled"])
    inputs = request["inputs"]
    max_length = request.get("max_length")
    add_special = request.get("add_special_tokens", True)
    kwargs = {}
    if "split_special_tokens" in request:
        kwargs["split_special_tokens"] = bool(request["split_special_tokens"])
    tok = AutoTokenizer.from_pretrained(folder, use_fast=False, **kwargs)
    slow, own = slow_encodings(tok, inputs, max_length, add_special)
    reading = tokjson_encodings(folder, inputs, max_length, add_special, tok.split_special_tokens)
    return {"class": type(tok).__name__, "split_special_tokens": tok.split_special_tokens, "slow": slow,
            "slow_own_truncation": own, "tokenizer_json": reading}


def main():
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON answer
        out = [answer(r) for r in request] if isinstance(request, list) else answer(request)
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
