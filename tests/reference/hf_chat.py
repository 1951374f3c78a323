"""Chat templates through the real transformers 4.44 (jinja2), for tests/unit/data/chatTemplate.test.ts.

stdin: {"cases": [{"checkpoint": DIR, "messages": [...]}, ...]}
stdout: one result per case, in order:
  {"text": apply_chat_template(messages, tokenize=False),
   "generation": apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
   "ids": apply_chat_template(messages, tokenize=True),      # add_special_tokens=False, as transformers does
   "mask": [0/1 per id]}                                        # the assistant-only loss mask, defined below
or {"error": str} when the template raises (raise_exception) on the conversation.

The mask, by the definition SiVA documents (engine/data/chatTemplate.ts, chatTokens.ts), computed here
from transformers' own renderings and tokenizer, independently of the TypeScript:
  - assistant turn i starts where apply_chat_template(messages[:i], add_generation_prompt=True) ends, and
    is taught through the last special token (an added token with special=True) of what
    apply_chat_template(messages[:i+1]) adds after that point, or through its end when it adds none;
  - a character boundary c is at token lcp(tokens(text[:c]), tokens(text)), tokens without special tokens
    added;
  - an id gets loss when it lies in [boundary(start), boundary(end)) of some turn.
"""
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, "../shared/hfref")
import json  # noqa: E402

import hfenv  # noqa: E402,F401  (vendored packages first, offline)
from transformers import AutoTokenizer  # noqa: E402

tokenizers = {}


def tokenizer_for(folder):
    if folder not in tokenizers:
        tokenizers[folder] = AutoTokenizer.from_pretrained(folder, use_fast=False)  # the Rust tokenizers are not installed here
    return tokenizers[folder]


def lcp(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def render(tok, messages):
    """apply_chat_template(messages, tokenize=False, add_generation_prompt=True), also for no messages
    (apply_chat_template itself indexes messages[0]): its own compiled template and variables."""
    if messages:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    template = tok._compile_jinja_template(tok.get_chat_template())
    return template.render(messages=[], tools=None, documents=None, add_generation_prompt=True, **tok.special_tokens_map)


def case(tok, messages):
    try:
        text = tok.apply_chat_template(messages, tokenize=False)
        generation = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok.apply_chat_template(messages, tokenize=True)
    except Exception as error:  # the template's raise_exception is a TemplateError
        return {"error": str(error)}
    specials = [t.content for t in tok.added_tokens_decoder.values() if t.special and t.content]
    encode = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    assert encode(text) == ids
    mask = [0] * len(ids)
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tok, messages[:i])
        through = tok.apply_chat_template(messages[: i + 1], tokenize=False)
        assert text.startswith(before) and text.startswith(through), (before, through, text)
        start = len(before)
        turn = through[start:]
        ends = [turn.rfind(s) + len(s) for s in specials if turn.rfind(s) >= 0]
        end = start + (max(ends) if ends else len(turn))
        first, last = (lcp(encode(text[:c]), ids) for c in (start, end))
        for t in range(first, last):
            mask[t] = 1
    return {"text": text, "generation": generation, "ids": ids, "mask": mask}


def main():
    request = json.load(sys.stdin)
    results = [case(tokenizer_for(c["checkpoint"]), c["messages"]) for c in request["cases"]]
    json.dump(results, sys.stdout)
    print(f"\nhf_chat.py: {len(results)} conversations", file=sys.stderr)


if __name__ == "__main__":
    main()
