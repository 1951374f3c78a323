"""Bases and data for the export checks against the real transformers (tests/integration/hf-exports.test.ts).

usage: /usr/bin/python3 -B tests/reference/hf_export_inputs.py FIXTURES OUT

FIXTURES is a folder hfref's make_fixtures.py wrote. Into OUT this writes, with the real classes'
save_pretrained (safetensors):
  <fixture>-f16            the fixture stored in F16
  <fixture>-bf16-sharded   the fixture stored in BF16 in two shards with model.safetensors.index.json
  deberta-v2-mlm           DebertaV2ForMaskedLM with deberta-v2-cls's encoder: a base with another head
and the data the runs train on, from hfref's corpus (whose words the fixtures' vocabularies hold):
  classify.csv (text,label: 3 classes), two.csv (2 classes), regress.csv (text,score), eos.csv (classify.csv
  with GPT-2's <|endoftext|> inside or before two texts in three), lm.txt (one text
  per line) and lm.csv (the same as a text column), texts.txt (held-out texts for the logit comparisons), images/<class>/*.png (3 classes, 40×40).
Prints a JSON summary on stdout.
"""
import csv
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from PIL import Image  # noqa: E402

import corpus  # noqa: E402

LOW_PRECISION = {
    "f16": ["bert-cls", "roberta-mlm", "vit-base", "deberta-v2-cls", "gpt2-cls"],
    "bf16-sharded": ["gpt2-lm", "roberta-cls", "vit-cls", "deberta-v2-cls", "bert-mlm"],
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "config.json", "reference.npz", "fixture.json")


def copy_side_files(src, dst):
    for f in os.listdir(src):
        if f not in WEIGHT_FILES and not f.startswith("model-") and not os.path.exists(os.path.join(dst, f)):
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))


def class_of(folder):
    with open(os.path.join(folder, "fixture.json")) as f:
        return getattr(transformers, json.load(f)["class"])


def low_precision(src, dst, kind):
    model = class_of(src).from_pretrained(src)
    dtype = torch.float16 if kind == "f16" else torch.bfloat16
    model = model.to(dtype)
    model.config._name_or_path = ""
    os.makedirs(dst)
    if kind == "bf16-sharded":
        total = sum(p.numel() * 2 for p in model.state_dict().values())
        shard = f"{max(1, total // 2 // 1000 + 1)}KB"  # about half the weights per shard: two shards
    else:
        shard = "10GB"
    model.save_pretrained(dst, safe_serialization=True, max_shard_size=shard)
    copy_side_files(src, dst)
    shards = [f for f in os.listdir(dst) if f.startswith("model-")]
    if kind == "bf16-sharded" and len(shards) < 2:
        raise SystemExit(f"{dst}: expected two shards, save_pretrained wrote {shards}")
    return {"class": type(model).__name__, "dtype": str(dtype), "shards": len(shards) or 1}


def deberta_mlm(src, dst):
    """A masked-LM base: DebertaV2ForMaskedLM with the classifier fixture's encoder, its MLM head drawn at random."""
    from transformers import DebertaV2ForMaskedLM
    cls_model = transformers.DebertaV2ForSequenceClassification.from_pretrained(src)
    torch.manual_seed(1)
    config = cls_model.config
    config.architectures = ["DebertaV2ForMaskedLM"]
    mlm = DebertaV2ForMaskedLM(config)
    mlm.deberta.load_state_dict(cls_model.deberta.state_dict(), strict=True)
    with torch.no_grad():
        for name, p in mlm.named_parameters():
            if not name.startswith("deberta."):
                p.normal_(0, 0.2)
    mlm.config._name_or_path = ""
    os.makedirs(dst)
    mlm.save_pretrained(dst, safe_serialization=True)
    copy_side_files(src, dst)
    heads = sorted({k.rsplit(".", 1)[0] for k in mlm.state_dict() if not k.startswith("deberta.")})
    return {"class": "DebertaV2ForMaskedLM", "head_modules": heads}


def write_data(out):
    rows = corpus.classify_rows()
    with open(os.path.join(out, "classify.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(rows)
    with open(os.path.join(out, "two.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([(t, "food" if c == "food" else "other") for t, c in rows])
    scores = {"sport": 0.2, "food": 1.5, "weather": -1.0}
    with open(os.path.join(out, "regress.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "score"])
        w.writerows([(t, f"{scores[c] + 0.1 * (len(t) % 5):.2f}") for t, c in rows])
    # GPT-2's end-of-text token written inside the text (it is also the pad id a classification export sets).
    with open(os.path.join(out, "eos.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([((t.replace(" ", "<|endoftext|>", 1) if i % 3 == 0 else "<|endoftext|>" + t if i % 3 == 1 else t), c)
                     for i, (t, c) in enumerate(rows)])
    with open(os.path.join(out, "lm.txt"), "w") as f:
        f.write("\n".join(p + c for p, c in corpus.LM_ROWS * 4) + "\n")
    with open(os.path.join(out, "lm.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text"])
        w.writerows([(p + c,) for p, c in corpus.LM_ROWS * 4])
    with open(os.path.join(out, "texts.txt"), "w") as f:
        f.write("\n".join(corpus.EVAL_TEXTS) + "\n")
    rng = np.random.default_rng(0)
    for ci, c in enumerate(["red", "green", "blue"]):
        d = os.path.join(out, "images", c)
        os.makedirs(d)
        for i in range(8):
            a = rng.integers(0, 90, (40, 40, 3), dtype=np.uint8)
            a[..., ci] += 150
            Image.fromarray(a).save(os.path.join(d, f"{i}.png"))
    return len(rows)


def main():
    fixtures, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    summary = {}
    for kind, names in LOW_PRECISION.items():
        for name in names:
            summary[f"{name}-{kind}"] = low_precision(os.path.join(fixtures, name), os.path.join(out, f"{name}-{kind}"), kind)
    summary["deberta-v2-mlm"] = deberta_mlm(os.path.join(fixtures, "deberta-v2-cls"), os.path.join(out, "deberta-v2-mlm"))
    summary["rows"] = write_data(out)
    json.dump(summary, sys.stdout)


if __name__ == "__main__":
    main()
