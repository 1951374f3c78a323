"""Independent reference for the BERT and RoBERTa families (src/main/engine/models/bert, roberta): the
sequence-classification forward pass of transformers' BertForSequenceClassification and
RobertaForSequenceClassification in eval mode (no dropout), written from torch primitives (F.linear,
F.layer_norm, F.gelu, torch.softmax) and reading the checkpoint with the numpy safetensors reader, so
neither transformers nor our engine is involved. Runs in float32, as transformers does.

usage: /usr/bin/python3 tests/reference/torch_encoders.py MODEL_DIR [--adapters FILE.safetensors] < in.json > out.json

in.json:
  input_ids       [[int]] batch x length
  attention_mask  [[int]] (optional: all ones)
  token_type_ids  [[int]] (optional: zeros)
  task            "classification" | "regression"
  labels          [int] or [float] (optional: no loss)
  head_file       a .safetensors whose tensors replace or add to the checkpoint's (a head made elsewhere)
out.json:
  logits [[float]], loss (when labels are given), grads {target: [float]} (with --adapters)

--adapters FILE holds, for some targets (module names such as bert.encoder.layer.0.attention.self.query),
`<target>.U` [out, k], `<target>.V` [in, k] and `<target>.delta` [k]. Those projections then use
W + U diag(delta) V^T, delta requiring grad, and d loss / d delta is reported per target.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import read_safetensors, to_float64  # noqa: E402


def load(path):
    _, entries = read_safetensors(path)
    return {name: torch.tensor(to_float64(dtype, raw).reshape(shape), dtype=torch.float32) for name, dtype, shape, raw, _ in entries}


class Encoder:
    def __init__(self, model_dir, overrides, adapters):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.config = json.load(f)
        self.family = self.config["model_type"]
        assert self.family in ("bert", "roberta"), f"not a BERT or RoBERTa config: {self.family}"
        self.w = load(os.path.join(model_dir, "model.safetensors"))
        self.w.update(overrides)
        self.adapters = adapters  # target -> (U, V, delta)

    def linear(self, x, module):
        weight = self.w[module + ".weight"]
        if module in self.adapters:
            u, v, delta = self.adapters[module]
            weight = weight + u @ torch.diag(delta) @ v.T
        return F.linear(x, weight, self.w[module + ".bias"])

    def layer_norm(self, x, module):
        eps = self.config["layer_norm_eps"]
        return F.layer_norm(x, (x.shape[-1],), self.w[module + ".weight"], self.w[module + ".bias"], eps)

    def position_ids(self, input_ids):
        length = input_ids.shape[1]
        if self.family == "bert":
            return torch.arange(length).unsqueeze(0).expand_as(input_ids)
        # RoBERTa numbers the non-padding tokens from padding_idx + 1; padding keeps padding_idx.
        padding_idx = self.config["pad_token_id"]
        real = (input_ids != padding_idx).long()
        return torch.cumsum(real, dim=1) * real + padding_idx

    def forward(self, input_ids, attention_mask, token_type_ids):
        p = self.family
        embeddings = (
            F.embedding(input_ids, self.w[f"{p}.embeddings.word_embeddings.weight"])
            + F.embedding(self.position_ids(input_ids), self.w[f"{p}.embeddings.position_embeddings.weight"])
            + F.embedding(token_type_ids, self.w[f"{p}.embeddings.token_type_embeddings.weight"])
        )
        hidden = self.layer_norm(embeddings, f"{p}.embeddings.LayerNorm")
        batch, length, size = hidden.shape
        heads = self.config["num_attention_heads"]
        head_size = size // heads
        # Additive mask, as transformers' eager attention: 0 where attended, float32 min where padding.
        additive = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        act = {"gelu": F.gelu, "relu": F.relu, "tanh": torch.tanh}[self.config["hidden_act"]]

        def split(x):
            return x.view(batch, length, heads, head_size).transpose(1, 2)

        for i in range(self.config["num_hidden_layers"]):
            layer = f"{p}.encoder.layer.{i}"
            q = split(self.linear(hidden, f"{layer}.attention.self.query"))
            k = split(self.linear(hidden, f"{layer}.attention.self.key"))
            v = split(self.linear(hidden, f"{layer}.attention.self.value"))
            scores = q @ k.transpose(-1, -2) / (head_size**0.5) + additive
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, size)
            attended = self.linear(context, f"{layer}.attention.output.dense")
            hidden = self.layer_norm(attended + hidden, f"{layer}.attention.output.LayerNorm")
            inner = act(self.linear(hidden, f"{layer}.intermediate.dense"))
            hidden = self.layer_norm(self.linear(inner, f"{layer}.output.dense") + hidden, f"{layer}.output.LayerNorm")

        first = hidden[:, 0, :]
        if p == "bert":
            pooled = torch.tanh(self.linear(first, "bert.pooler.dense"))
            return self.linear(pooled, "classifier")
        return self.linear(torch.tanh(self.linear(first, "classifier.dense")), "classifier.out_proj")


def read_adapters(path):
    tensors = load(path)
    targets = sorted({name.rsplit(".", 1)[0] for name in tensors})
    adapters = {}
    for target in targets:
        delta = tensors[target + ".delta"].clone().requires_grad_(True)
        adapters[target] = (tensors[target + ".U"], tensors[target + ".V"], delta)
    return adapters


def main(argv):
    model_dir = argv[1]
    adapters = read_adapters(argv[argv.index("--adapters") + 1]) if "--adapters" in argv else {}
    request = json.load(sys.stdin)
    input_ids = torch.tensor(request["input_ids"], dtype=torch.long)
    mask = torch.tensor(request.get("attention_mask") or np.ones(input_ids.shape, dtype=np.int64).tolist(), dtype=torch.long)
    types = torch.tensor(request.get("token_type_ids") or np.zeros(input_ids.shape, dtype=np.int64).tolist(), dtype=torch.long)
    overrides = load(request["head_file"]) if request.get("head_file") else {}

    model = Encoder(model_dir, overrides, adapters)
    logits = model.forward(input_ids, mask, types)
    result = {"logits": logits.tolist()}
    labels = request.get("labels")
    if labels is not None:
        if request["task"] == "regression":
            # transformers: num_labels == 1 -> MSELoss on the squeezed logits.
            loss = F.mse_loss(logits.squeeze(-1), torch.tensor(labels, dtype=torch.float32))
        else:
            loss = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))
        result["loss"] = loss.item()
        if adapters:
            deltas = [adapters[t][2] for t in adapters]
            grads = torch.autograd.grad(loss, deltas)
            result["grads"] = {t: g.tolist() for t, g in zip(adapters, grads)}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
