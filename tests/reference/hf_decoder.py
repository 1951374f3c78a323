"""The real transformers 4.44 (../shared/hfref) for the Llama-style decoders: checkpoints of Llama, Mistral and Qwen2 (Llama, Mistral, Qwen2) written by the real transformers 4.44
(../shared/hfref) with save_pretrained, for settings hfref's fixtures do not cover: Mistral's sliding window and
own head_dim, Llama's attention_bias / mlp_bias and linear rope scaling, sequence classification heads, a bare
*Model. The numerics against them come from hf_models.py (AutoModelFor… on the saved folder).

usage: /usr/bin/python3 -B tests/reference/hf_decoder.py < jobs.json > results.json

jobs.json: {"jobs": [job, ...]}; a job is
  {"kind": "rope", "config": {"model_type": T, ...}, "positions": [p, ...]}
      → {"inv_freq": [...], "cos": [[...]], "sin": [[...]]}: LlamaRotaryEmbedding's inverse frequencies (after
      rope_scaling) and its cos/sin at those positions, float32 values as doubles
  {"kind": "save", "out": DIR, "config": {"model_type": T, ...}, "class": "causal-lm" | "classification" | "model", "seed": S,
   "base": DIR (optional: load this checkpoint with its own class instead of a new one)}
The new model's weights are redrawn N(0, 0.2), RMSNorm weights 1 + 0.1·N(0, 1), so that a wrong layout shows.
  → {"class": name, "tensors": [saved tensor names]}
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402

torch.set_num_threads(1)

CLASSES = {
    "causal-lm": transformers.AutoModelForCausalLM,
    "classification": transformers.AutoModelForSequenceClassification,
    "model": transformers.AutoModel,
}


def redraw(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            p.copy_(1 + 0.1 * noise if "norm" in name else 0.2 * noise)
    return model


def save(job):
    cls = CLASSES[job["class"]]
    if job.get("base"):
        model = cls.from_pretrained(job["base"])
    else:
        config = dict(job["config"])
        model_type = config.pop("model_type")
        torch.manual_seed(0)
        model = redraw(cls.from_config(transformers.AutoConfig.for_model(model_type, **config)), job.get("seed", 0))
    model.save_pretrained(job["out"], safe_serialization=True)
    with safe_open(os.path.join(job["out"], "model.safetensors"), "pt") as f:
        names = sorted(f.keys())
    return {"class": type(model).__name__, "tensors": names}


def rope(job):
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    config = dict(job["config"])
    config = transformers.AutoConfig.for_model(config.pop("model_type"), **config)
    rotary = LlamaRotaryEmbedding(config=config)
    positions = torch.tensor([job["positions"]])
    x = torch.zeros(1, dtype=torch.float32)
    cos, sin = rotary(x, positions)
    return {"inv_freq": rotary.inv_freq.tolist(), "cos": cos[0].tolist(), "sin": sin[0].tolist()}


def main():
    jobs = json.load(sys.stdin)["jobs"]
    json.dump({"results": [rope(job) if job.get("kind") == "rope" else save(job) for job in jobs]}, sys.stdout)


if __name__ == "__main__":
    main()
