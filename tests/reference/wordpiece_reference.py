"""Independent reference for BERT's tokenisation, written from the algorithm's description with the
Python standard library alone (no tokenizer package involved).

usage: python3 tests/reference/wordpiece_reference.py VOCAB.txt [--cased] < inputs.json > ids.json

inputs.json is a JSON list; each item is a sentence (string) or a pair [first, second]. The output is a
JSON list of {"ids": [...], "type_ids": [...]} with [CLS] A [SEP] (B [SEP]) added.

Where the original BERT code and Hugging Face's Rust `tokenizers` (what AutoTokenizer loads) differ,
this follows the latter, because checkpoints are trained and served with it:
  * accents are stripped (NFD, drop Mn) before lowercasing, and lowercasing maps each character on
    its own (so a word-final capital sigma becomes σ, not ς);
  * "other" characters (categories C*, unassigned included) are dropped, except tab, newline and CR;
  * whitespace is Unicode's White_Space (str.isspace), so it is mapped to a plain space.
"""
import json
import sys
import unicodedata

CJK_RANGES = [
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
]
ASCII_PUNCTUATION = [(33, 47), (58, 64), (91, 96), (123, 126)]
MAX_CHARS_PER_WORD = 100


def is_whitespace(ch):
    return ch in "\t\n\r " or ch.isspace()


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    if any(lo <= cp <= hi for lo, hi in ASCII_PUNCTUATION):
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def normalize(text, lowercase):
    out = []
    for ch in text:
        if ord(ch) == 0 or ord(ch) == 0xFFFD or is_control(ch):
            continue
        out.append(" " if is_whitespace(ch) else ch)
    text = "".join(out)
    text = "".join(f" {ch} " if is_cjk(ch) else ch for ch in text)
    if lowercase:
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
        text = "".join(ch.lower() for ch in text)
    return text


def split_words(text):
    """Whitespace split, then every punctuation character becomes a word of its own."""
    words = []
    for chunk in text.split():
        current = ""
        for ch in chunk:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                    current = ""
                words.append(ch)
            else:
                current += ch
        if current:
            words.append(current)
    return words


def wordpiece(word, vocab, unk_id):
    chars = list(word)
    if len(chars) > MAX_CHARS_PER_WORD:
        return [unk_id]
    pieces = []
    start = 0
    while start < len(chars):
        end = len(chars)
        found = None
        while start < end:
            candidate = "".join(chars[start:end])
            if start > 0:
                candidate = "##" + candidate
            if candidate in vocab:
                found = vocab[candidate]
                break
            end -= 1
        if found is None:
            return [unk_id]
        pieces.append(found)
        start = end
    return pieces


SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tokenize(text, vocab, lowercase):
    """Special tokens written in the text are kept whole (they are not normalised)."""
    ids = []
    rest = text
    while rest:
        hits = [(rest.find(s), s) for s in SPECIALS if rest.find(s) >= 0]
        if not hits:
            head, special, rest = rest, None, ""
        else:
            at, special = min(hits)
            head, rest = rest[:at], rest[at + len(special):]
        for word in split_words(normalize(head, lowercase)):
            ids.extend(wordpiece(word, vocab, vocab["[UNK]"]))
        if special:
            ids.append(vocab[special])
    return ids


def main():
    args = sys.argv[1:]
    lowercase = "--cased" not in args
    paths = [a for a in args if not a.startswith("--")]
    with open(paths[0], encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    cls, sep = vocab["[CLS]"], vocab["[SEP]"]
    results = []
    for item in json.load(sys.stdin):
        if isinstance(item, str):
            a = tokenize(item, vocab, lowercase)
            results.append({"ids": [cls, *a, sep], "type_ids": [0] * (len(a) + 2)})
        else:
            a, b = (tokenize(t, vocab, lowercase) for t in item)
            results.append({"ids": [cls, *a, sep, *b, sep], "type_ids": [0] * (len(a) + 2) + [1] * (len(b) + 1)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
