"""Independent reference for RoBERTa's tokenisation (GPT-2's byte-level BPE plus RoBERTa's special
tokens), written from the algorithm's description with the Python standard library alone.

usage: python3 tests/reference/bpe_reference.py VOCAB.json MERGES.txt [--add-prefix-space] [--gpt2] < inputs.json

inputs.json is a JSON list; each item is a sentence (string) or a pair [first, second]. The output is a
JSON list of {"ids": [...], "type_ids": [...]} with RoBERTa's template: <s> A </s> for one sentence,
<s> A </s></s> B </s> for a pair, every type id 0 (RoBERTa has no segment embeddings). With --gpt2, GPT-2's
own processing instead: <|endoftext|> is the only special token, nothing is added around the text, and a
pair is A then B with type ids 0 then 1.

Steps: special tokens written in the text are cut out first (<mask> also takes the whitespace on its
left); every other stretch is split the way GPT-2's pattern
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
does, implemented here by Unicode categories rather than a regex engine (Python's `re` has no \\p{L});
each piece becomes UTF-8 bytes shown through the printable byte-to-character table, then merges are
applied lowest rank first until none applies.
"""
import json
import sys
import unicodedata

CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
LEFT_STRIPPING = {"<mask>"}


def byte_to_char():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def char_class(ch):
    if ch.isspace():
        return "space"
    category = unicodedata.category(ch)
    if category.startswith("L"):
        return "letter"
    if category.startswith("N"):
        return "number"
    return "other"


def pre_split(text):
    pieces = []
    i, n = 0, len(text)
    while i < n:
        contraction = next((c for c in CONTRACTIONS if text.startswith(c, i)), None)
        if contraction:
            pieces.append(contraction)
            i += len(contraction)
            continue
        start = i
        if text[i] == " " and i + 1 < n and char_class(text[i + 1]) != "space":
            i += 1  # the optional leading space of a letter, number or symbol run
        kind = char_class(text[i])
        if kind != "space":
            while i < n and char_class(text[i]) == kind:
                i += 1
            pieces.append(text[start:i])
            continue
        end = i
        while end < n and char_class(text[end]) == "space":
            end += 1
        # A whitespace run followed by text leaves its last character to lead the next piece,
        # unless the run is that one character.
        if end < n and end - i > 1:
            end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


def bpe(symbols, ranks):
    symbols = list(symbols)
    while len(symbols) > 1:
        best = min(range(len(symbols) - 1), key=lambda k: ranks.get((symbols[k], symbols[k + 1]), float("inf")))
        pair = (symbols[best], symbols[best + 1])
        if pair not in ranks:
            break
        merged = []
        k = 0
        while k < len(symbols):
            if k < len(symbols) - 1 and (symbols[k], symbols[k + 1]) == pair:
                merged.append(symbols[k] + symbols[k + 1])
                k += 2
            else:
                merged.append(symbols[k])
                k += 1
        symbols = merged
    return symbols


def split_specials(text, specials):
    """[(chunk, is_special)] with the special tokens cut out of the text."""
    parts = []
    rest = text
    while rest:
        hits = [(rest.find(s), s) for s in specials if rest.find(s) >= 0]
        if not hits:
            parts.append((rest, False))
            break
        at, special = min(hits)
        head = rest[:at]
        if special in LEFT_STRIPPING:
            head = head.rstrip()
        if head:
            parts.append((head, False))
        parts.append((special, True))
        rest = rest[at + len(special):]
    return parts


def tokenize(text, vocab, ranks, table, add_prefix_space, specials=SPECIALS):
    ids = []
    for chunk, special in split_specials(text, specials):
        if special:
            ids.append(vocab[chunk])
            continue
        if add_prefix_space and not chunk.startswith(" "):
            chunk = " " + chunk
        for piece in pre_split(chunk):
            # A byte missing from the vocabulary (small vocabularies) is left out before merging, as
            # Hugging Face's BPE does when the model has no unknown token.
            shown = [table[b] for b in piece.encode("utf-8") if table[b] in vocab]
            ids.extend(vocab[s] for s in bpe(shown, ranks))
    return ids


def main():
    args = sys.argv[1:]
    add_prefix_space = "--add-prefix-space" in args
    vocab_path, merges_path = [a for a in args if not a.startswith("--")]
    with open(vocab_path, encoding="utf-8") as f:
        vocab = json.load(f)
    with open(merges_path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#version")]
    ranks = {tuple(line.split(" ")): rank for rank, line in enumerate(lines)}
    table = byte_to_char()
    results = []
    if "--gpt2" in args:
        for item in json.load(sys.stdin):
            parts = [item] if isinstance(item, str) else item
            encoded = [tokenize(t, vocab, ranks, table, add_prefix_space, ["<|endoftext|>"]) for t in parts]
            ids = [i for part in encoded for i in part]
            type_ids = [k for k, part in enumerate(encoded) for _ in part]
            results.append({"ids": ids, "type_ids": type_ids})
        json.dump(results, sys.stdout)
        return
    bos, eos = vocab["<s>"], vocab["</s>"]
    for item in json.load(sys.stdin):
        if isinstance(item, str):
            a = tokenize(item, vocab, ranks, table, add_prefix_space)
            ids = [bos, *a, eos]
        else:
            a, b = (tokenize(t, vocab, ranks, table, add_prefix_space) for t in item)
            ids = [bos, *a, eos, eos, *b, eos]
        results.append({"ids": ids, "type_ids": [0] * len(ids)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
