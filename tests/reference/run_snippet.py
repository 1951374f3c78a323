"""Run a documentation snippet as written, in hfref's transformers / peft (tests/integration/export-docs.test.ts).

usage: /usr/bin/python3 -B tests/reference/run_snippet.py SNIPPET.py

One thing differs from a user's machine, and only because it cannot be installed here: Hugging Face's Rust
`tokenizers` (hfref vendors a stub, see ../shared/hfref/README.md). AutoTokenizer would pick the fast class
and fail, so its default becomes use_fast=False (transformers' pure-Python tokenizer of the same files);
a snippet that passes use_fast itself keeps its own choice. Nothing else is touched.
"""
import os
import runpy
import sys

sys.dont_write_bytecode = True
HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401
from transformers import AutoTokenizer  # noqa: E402

_load = AutoTokenizer.from_pretrained.__func__


def _slow_by_default(cls, *args, **kwargs):
    kwargs.setdefault("use_fast", False)
    return _load(cls, *args, **kwargs)


AutoTokenizer.from_pretrained = classmethod(_slow_by_default)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
