"""The real transformers 4.44 (../shared/hfref) as the reference for greedy decoding: generate(do_sample=False)
with its own key/value cache, on a checkpoint folder, in float32 (as transformers loads one by default).

usage: /usr/bin/python3 -B tests/reference/hf_generate.py < jobs.json > results.json

jobs.json: {"jobs": [job, ...]}; a job is
  {"model": DIR, "prompt": [id, ...] | "text", "max_new_tokens": N, "eos_token_id": id | [id, ...] | null}
  → {"prompt_ids": [...], "ids": [new ids], "text": "...", "logits": [[vocab floats] per new token]}: a text prompt
  is tokenised by the folder's own (pure-Python) tokenizer, and the new ids decoded by it with
  skip_special_tokens ("text", only for a text prompt); the tokens generate appended (the eos it
  stopped on included), and the raw next-token logits of each step (output_logits: no logits processor
  runs in greedy decoding without one asked for). eos_token_id null: no stop token (the model's generation
  config's eos is overridden, so the budget is spent).
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import torch  # noqa: E402
import transformers  # noqa: E402

torch.set_num_threads(1)
transformers.logging.set_verbosity_error()

_models = {}


def model_of(path):
    if path not in _models:
        _models[path] = transformers.AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()
    return _models[path]


def run(job):
    model = model_of(job["model"])
    prompt = job["prompt"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(job["model"], use_fast=False) if isinstance(prompt, str) else None
    ids = torch.tensor([tokenizer(prompt)["input_ids"] if tokenizer else prompt], dtype=torch.long)
    eos = job.get("eos_token_id")
    # No stop token: an id past the vocabulary never comes, and overrides the generation config's eos.
    eos = [model.config.vocab_size + 7] if eos is None else eos
    with torch.no_grad():
        out = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            num_beams=1,
            max_new_tokens=job["max_new_tokens"],
            eos_token_id=eos,
            pad_token_id=eos[0] if isinstance(eos, list) else eos,
            use_cache=True,
            return_dict_in_generate=True,
            output_logits=True,
        )
    new = out.sequences[0, ids.shape[1]:].tolist()
    result = {"prompt_ids": ids[0].tolist(), "ids": new, "logits": [step[0].tolist() for step in out.logits]}
    if tokenizer:
        result["text"] = tokenizer.decode(new, skip_special_tokens=True)
    return result


def main():
    jobs = json.load(sys.stdin)["jobs"]
    json.dump({"results": [run(job) for job in jobs]}, sys.stdout)


if __name__ == "__main__":
    main()
