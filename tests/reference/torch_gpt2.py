"""Independent reference for the GPT-2 family (src/main/engine/models/gpt2): transformers' GPT2LMHeadModel
and GPT2ForSequenceClassification in eval mode (no dropout), written from torch primitives (x @ W for
Conv1D, F.layer_norm, the tanh GELU formula, torch.softmax) and reading the checkpoint with the numpy
safetensors reader, so neither transformers nor our engine is involved. Runs in float32, as transformers does.

usage: /usr/bin/python3 tests/reference/torch_gpt2.py MODEL_DIR [--adapters FILE.safetensors] < in.json > out.json

in.json:
  input_ids       [[int]] batch x length
  attention_mask  [[int]] (optional: all ones)
  task            "causal-lm" | "classification" | "regression"
  labels          causal-lm: [[int]] batch x length, -100 where ignored; classification: [int];
                  regression: [float] (optional: no loss)
  head_file       a .safetensors whose tensors replace or add to the checkpoint's (e.g. a score.weight
                  created elsewhere)
out.json:
  logits (causal-lm [[[float]]], else [[float]]), loss (when labels are given),
  grads {target: [float]} (with --adapters and labels)

The checkpoint may name its tensors `transformer.h.0...` or, saved from the bare GPT2Model, `h.0...`;
both are read. Classification pools the hidden state of each row's last position whose attention mask is
1 (the engine's rule; transformers uses pad_token_id, which agrees on right-padded rows without a real
pad token inside).

--adapters FILE holds, for some targets (module names such as transformer.h.0.attn.c_attn.q or
transformer.h.1.mlp.c_fc), `<target>.U` [out, k], `<target>.V` [in, k] and `<target>.delta` [k]. Those
projections then use W + U diag(delta) V^T in nn.Linear orientation (W [out, in] = the transpose of the
Conv1D block), delta requiring grad, and d loss / d delta is reported per target.
"""
import json
import math
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


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACTIVATIONS = {
    "gelu_new": gelu_tanh,
    "gelu_pytorch_tanh": gelu_tanh,
    "gelu_fast": gelu_tanh,
    "gelu": F.gelu,
    "relu": F.relu,
    "tanh": torch.tanh,
}


class Gpt2:
    def __init__(self, model_dir, overrides, adapters):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.config = json.load(f)
        assert self.config.get("model_type") == "gpt2", f"not a GPT-2 config: {self.config.get('model_type')}"
        stored = load(os.path.join(model_dir, "model.safetensors"))
        # One naming inside the reference: always with the transformer. prefix.
        self.w = {}
        for name, value in stored.items():
            bare = not name.startswith("transformer.") and name.split(".")[0] in ("wte", "wpe", "h", "ln_f")
            self.w["transformer." + name if bare else name] = value
        self.w.update(overrides)
        self.adapters = adapters  # target -> (U, V, delta)
        self.hidden = self.config["n_embd"]

    def conv1d(self, x, module, part=None):
        """Conv1D: y = x @ W + b with W stored [in, out]; `part` picks q, k or v out of the fused c_attn."""
        weight = self.w[module + ".weight"]
        bias = self.w[module + ".bias"]
        target = module
        if part is not None:
            n = self.hidden
            start = {"q": 0, "k": n, "v": 2 * n}[part]
            weight = weight[:, start : start + n]
            bias = bias[start : start + n]
            target = f"{module}.{part}"
        linear_weight = weight.t()  # nn.Linear orientation [out, in]
        if target in self.adapters:
            u, v, delta = self.adapters[target]
            linear_weight = linear_weight + u @ torch.diag(delta) @ v.t()
        return F.linear(x, linear_weight, bias)

    def layer_norm(self, x, module):
        eps = self.config.get("layer_norm_epsilon", 1e-5)
        return F.layer_norm(x, (x.shape[-1],), self.w[module + ".weight"], self.w[module + ".bias"], eps)

    def transformer(self, input_ids, attention_mask):
        batch, length = input_ids.shape
        positions = torch.arange(length).unsqueeze(0).expand(batch, length)
        hidden = F.embedding(input_ids, self.w["transformer.wte.weight"]) + F.embedding(positions, self.w["transformer.wpe.weight"])
        heads = self.config["n_head"]
        head_size = self.hidden // heads
        inner_act = ACTIVATIONS[self.config.get("activation_function", "gelu_new")]
        minimum = torch.finfo(torch.float32).min
        causal = torch.tril(torch.ones(length, length, dtype=torch.bool)).view(1, 1, length, length)
        padding = (1.0 - attention_mask[:, None, None, :].float()) * minimum

        def split(x):
            return x.view(batch, length, heads, head_size).transpose(1, 2)

        for i in range(self.config["n_layer"]):
            block = f"transformer.h.{i}"
            normed = self.layer_norm(hidden, f"{block}.ln_1")
            q = split(self.conv1d(normed, f"{block}.attn.c_attn", "q"))
            k = split(self.conv1d(normed, f"{block}.attn.c_attn", "k"))
            v = split(self.conv1d(normed, f"{block}.attn.c_attn", "v"))
            scores = q @ k.transpose(-1, -2)
            if self.config.get("scale_attn_weights", True):
                scores = scores / (head_size**0.5)
            if self.config.get("scale_attn_by_inverse_layer_idx", False):
                scores = scores / float(i + 1)
            # As transformers' eager GPT-2 attention: the causal mask replaces scores by the float32
            # minimum, then the padding mask is added.
            scores = torch.where(causal, scores, torch.tensor(minimum, dtype=scores.dtype)) + padding
            context = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, self.hidden)
            hidden = hidden + self.conv1d(context, f"{block}.attn.c_proj")
            inner = inner_act(self.conv1d(self.layer_norm(hidden, f"{block}.ln_2"), f"{block}.mlp.c_fc"))
            hidden = hidden + self.conv1d(inner, f"{block}.mlp.c_proj")
        return self.layer_norm(hidden, "transformer.ln_f")

    def forward(self, input_ids, attention_mask, task):
        hidden = self.transformer(input_ids, attention_mask)
        if task == "causal-lm":
            tied = self.config.get("tie_word_embeddings", True)
            output = self.w["transformer.wte.weight"] if tied else self.w["lm_head.weight"]
            return hidden @ output.t()
        # Last position whose mask is 1 in each row.
        positions = torch.arange(input_ids.shape[1]).unsqueeze(0) * attention_mask
        last = positions.argmax(dim=1)
        pooled = hidden[torch.arange(input_ids.shape[0]), last]
        return pooled @ self.w["score.weight"].t()


def read_adapters(path):
    tensors = load(path)
    targets = sorted({name.rsplit(".", 1)[0] for name in tensors})
    adapters = {}
    for target in targets:
        delta = tensors[target + ".delta"].clone().requires_grad_(True)
        adapters[target] = (tensors[target + ".U"], tensors[target + ".V"], delta)
    return adapters


def task_loss(task, logits, labels):
    if task == "causal-lm":
        # Position t predicts token t + 1; -100 labels count for nothing (F.cross_entropy's default).
        vocab = logits.shape[-1]
        shifted = logits[:, :-1, :].reshape(-1, vocab)
        targets = torch.tensor(labels, dtype=torch.long)[:, 1:].reshape(-1)
        return F.cross_entropy(shifted, targets, ignore_index=-100)
    if task == "regression":
        return F.mse_loss(logits.squeeze(-1), torch.tensor(labels, dtype=torch.float32))
    return F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))


def main(argv):
    model_dir = argv[1]
    adapters = read_adapters(argv[argv.index("--adapters") + 1]) if "--adapters" in argv else {}
    request = json.load(sys.stdin)
    input_ids = torch.tensor(request["input_ids"], dtype=torch.long)
    mask = torch.tensor(request.get("attention_mask") or np.ones(input_ids.shape, dtype=np.int64).tolist(), dtype=torch.long)
    overrides = load(request["head_file"]) if request.get("head_file") else {}
    task = request["task"]

    model = Gpt2(model_dir, overrides, adapters)
    logits = model.forward(input_ids, mask, task)
    result = {"logits": logits.tolist()}
    labels = request.get("labels")
    if labels is not None:
        loss = task_loss(task, logits, labels)
        result["loss"] = loss.item()
        if adapters:
            deltas = [adapters[t][2] for t in adapters]
            grads = torch.autograd.grad(loss, deltas)
            result["grads"] = {t: g.tolist() for t, g in zip(adapters, grads)}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
