"""The real transformers (4.44, ../shared/hfref) as the reference for the DeBERTa-v2 family
(src/main/engine/models/deberta): DebertaV2ForSequenceClassification in eval mode, its loss, and the
gradient of the loss with respect to SiVA's δ on chosen projections, by torch.autograd.grad.

usage: /usr/bin/python3 -B tests/reference/hf_deberta.py < jobs.json > results.json

jobs.json: {"jobs": [job, ...]}; results.json: {"results": [result, ...]} in the same order. A job is one of

  {"kind": "save", "out": DIR, "base": DIR (optional), "config": {...}, "class": "seq" | "model", "seed": S}
      writes a checkpoint with the real save_pretrained: `base`'s model (loaded with its own class) or a
      new DebertaV2ForSequenceClassification from DebertaV2Config(**config) with weights redrawn from
      N(0, 0.2) (norms near 1) so that a wrong layout shows; "model" saves the bare DebertaV2Model.
      → {"loading_info": ...} (of the base, when given)
  {"kind": "fixture", "model": DIR} → reference.npz's input_ids, attention_mask and logits, as make_fixtures wrote them
  {"kind": "positions", "length": L, "bucket": B, "max": M}
      → transformers' build_relative_position(L, L, B, M): its first and last rows
  {"kind": "forward", "model": DIR, "input_ids": [[...]], "attention_mask": [[...]] (optional),
   "token_type_ids": [[...]] (optional), "labels": [...] (optional), "num_labels": N (optional: another head
   size, loaded with ignore_mismatched_sizes), "head_file": FILE (optional: tensors replacing the head),
   "deltas": {module: [δ...]} (optional), "param_grads": [parameter name, ...] (optional)}
      Each module named in deltas (e.g. deberta.encoder.layer.0.attention.self.query_proj) computes with
      W + U_b diag(δ) V_bᵀ, U_b and V_b the singular vectors of its k = len(δ) smallest singular values
      (SVD of W in float64). → {"logits", "loss" (with labels), "grads": {module: dL/dδ} (with labels and deltas)}
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import DebertaV2Config, DebertaV2ForSequenceClassification  # noqa: E402
from transformers.models.deberta_v2.modeling_deberta_v2 import build_relative_position  # noqa: E402

torch.set_num_threads(1)


def redraw(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if "LayerNorm" in name:
                p.copy_(1 + 0.1 * noise if name.endswith("weight") else 0.1 * noise)
            else:
                p.copy_(0.2 * noise)
    return model


def save(job):
    info = None
    if job.get("base"):
        model, info = DebertaV2ForSequenceClassification.from_pretrained(job["base"], output_loading_info=True)
    else:
        torch.manual_seed(0)
        model = redraw(DebertaV2ForSequenceClassification(DebertaV2Config(**job["config"])), job.get("seed", 0))
    target = model.deberta if job.get("class") == "model" else model
    target.save_pretrained(job["out"], safe_serialization=True)
    return {"loading_info": info and {k: list(v) for k, v in info.items()}}


def fixture(job):
    z = np.load(os.path.join(job["model"], "reference.npz"))
    return {"input_ids": z["input_ids"].tolist(), "attention_mask": z["attention_mask"].tolist(), "logits": z["logits"].tolist()}


def positions(job):
    n = job["length"]
    rel = build_relative_position(n, n, bucket_size=job["bucket"], max_position=job["max"])[0]
    return {"first": rel[0].tolist(), "last": rel[n - 1].tolist()}


def with_band(module, delta):
    """module.weight becomes W + U_b diag(δ) V_bᵀ, a function of δ (float64, requiring grad)."""
    weight = module.weight.detach()
    u, _, vh = torch.linalg.svd(weight.double(), full_matrices=False)
    k = delta.numel()
    band = (u[:, -k:] * delta) @ vh[-k:, :]
    del module.weight
    module.weight = (weight.double() + band).float()


def forward(job):
    kwargs = {}
    if job.get("num_labels") is not None:
        kwargs = {"num_labels": job["num_labels"], "ignore_mismatched_sizes": True}
    model = DebertaV2ForSequenceClassification.from_pretrained(job["model"], **kwargs).eval()
    if job.get("head_file"):
        head = load_file(job["head_file"])
        missing, unexpected = model.load_state_dict(head, strict=False)
        assert not unexpected, f"head tensors the model does not have: {unexpected}"
    deltas = {}
    for name, values in (job.get("deltas") or {}).items():
        deltas[name] = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        with_band(model.get_submodule(name), deltas[name])
    ids = torch.tensor(job["input_ids"])
    mask = torch.tensor(job["attention_mask"]) if job.get("attention_mask") is not None else None
    types = torch.tensor(job["token_type_ids"]) if job.get("token_type_ids") is not None else None
    labels = None
    if job.get("labels") is not None:
        labels = torch.tensor(job["labels"], dtype=torch.float32 if model.num_labels == 1 else torch.long)
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=labels)
    result = {"logits": out.logits.detach().double().tolist()}
    if labels is not None:
        result["loss"] = float(out.loss)
        params = dict(model.named_parameters())
        wanted = [params[name] for name in job.get("param_grads") or []]
        grads = torch.autograd.grad(out.loss, list(deltas.values()) + wanted) if deltas or wanted else ()
        if deltas:
            result["grads"] = {name: g.tolist() for name, g in zip(deltas, grads)}
        if wanted:
            result["param_grads"] = {name: g.reshape(-1).tolist() for name, g in zip(job["param_grads"], grads[len(deltas):])}
    return result


kinds = {"save": save, "fixture": fixture, "positions": positions, "forward": forward}
jobs = json.load(sys.stdin)["jobs"]
json.dump({"results": [kinds[job["kind"]](job) for job in jobs]}, sys.stdout)
