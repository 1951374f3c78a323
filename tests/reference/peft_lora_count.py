"""PEFT 0.12's own count of LoRA's trainable parameters (../shared/hfref), per adapted module, as the reference
for the method catalogue's rank · (out + in) (tests/unit/shared/methods.test.ts).

usage: /usr/bin/python3 -B tests/reference/peft_lora_count.py < job.json > counts.json

job.json: {"model": DIR, "jobs": [{"r": R, "targets": [module name, ...]}, ...]}. The checkpoint is loaded with
AutoModelForSequenceClassification; each job wraps a fresh copy with get_peft_model(LoraConfig(r, target_modules
as exact names, bias "none")). counts.json: {"results": [{module name: trainable LoRA parameters, ...}, ...]}
(the sizes of lora_A and lora_B that require grad), one per job, in order.
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401

import json  # noqa: E402
import re  # noqa: E402

from peft import LoraConfig, get_peft_model  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402


def count(model_dir, r, targets):
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    pattern = "^(" + "|".join(re.escape(t) for t in targets) + ")$"
    peft_model = get_peft_model(model, LoraConfig(r=r, lora_alpha=r, target_modules=pattern, bias="none"))
    counts = {}
    for name, parameter in peft_model.named_parameters():
        if not parameter.requires_grad or ".lora_" not in name:
            continue
        module = name.split(".lora_")[0]
        module = module[len("base_model.model."):] if module.startswith("base_model.model.") else module
        counts[module] = counts.get(module, 0) + parameter.numel()
    return counts


def main():
    job = json.load(sys.stdin)
    results = [count(job["model"], j["r"], j["targets"]) for j in job["jobs"]]
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
