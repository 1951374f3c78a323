"""Independent reference for the ViT family (src/main/engine/models/vit): the forward pass of transformers'
ViTForImageClassification in eval mode (no dropout), written from torch primitives and reading the
checkpoint with the numpy safetensors reader, so neither transformers nor our engine is involved.
The patch embedding is a real F.conv2d (kernel = stride = patch size), the independent check of the
engine's reshape + matmul; the rest is F.linear, F.layer_norm, F.gelu and torch.softmax. Float32, as
transformers runs.

usage: /usr/bin/python3 tests/reference/torch_vit.py MODEL_DIR [--adapters FILE.safetensors] < in.json > out.json

in.json:
  pixels        [float] the batch [batch, channels, height, width], flattened row-major
  shape         [batch, channels, height, width]
  task          "image-classification" | "regression"
  labels        [int] or [float] (optional: no loss)
  head_file     a .safetensors whose tensors replace or add to the checkpoint's (a head made elsewhere)
  grad_tensors  [checkpoint tensor names] (optional): also report d loss / d tensor for these
out.json:
  logits [[float]], loss (with labels), grads {target: [float]} (with --adapters),
  tensor_grads {name: [float], flattened} (with grad_tensors)

--adapters FILE holds, for some targets (module names such as vit.encoder.layer.0.attention.attention.query),
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


class ViT:
    def __init__(self, model_dir, overrides, adapters):
        with open(os.path.join(model_dir, "config.json")) as f:
            self.config = json.load(f)
        assert self.config["model_type"] == "vit", f"not a ViT config: {self.config['model_type']}"
        self.w = load(os.path.join(model_dir, "model.safetensors"))
        self.w.update(overrides)
        self.adapters = adapters  # target -> (U, V, delta)

    def linear(self, x, module):
        weight = self.w[module + ".weight"]
        if module in self.adapters:
            u, v, delta = self.adapters[module]
            weight = weight + u @ torch.diag(delta) @ v.T
        return F.linear(x, weight, self.w.get(module + ".bias"))

    def layer_norm(self, x, module):
        return F.layer_norm(x, (x.shape[-1],), self.w[module + ".weight"], self.w[module + ".bias"], self.config["layer_norm_eps"])

    def self_attention(self, x, module):
        heads = self.config["num_attention_heads"]
        batch, length, hidden = x.shape
        size = hidden // heads

        def split(t):
            return t.view(batch, length, heads, size).transpose(1, 2)

        q = split(self.linear(x, module + ".query"))
        k = split(self.linear(x, module + ".key"))
        v = split(self.linear(x, module + ".value"))
        scores = q @ k.transpose(-1, -2) / (size ** 0.5)
        context = torch.softmax(scores, dim=-1) @ v
        return context.transpose(1, 2).reshape(batch, length, hidden)

    def forward(self, pixels):
        c = self.config
        patch = c["patch_size"]
        embedded = F.conv2d(pixels, self.w["vit.embeddings.patch_embeddings.projection.weight"], self.w["vit.embeddings.patch_embeddings.projection.bias"], stride=patch)
        # [batch, hidden, rows, cols] -> [batch, rows·cols, hidden]: patches in row-major order.
        embedded = embedded.flatten(2).transpose(1, 2)
        cls = self.w["vit.embeddings.cls_token"].expand(pixels.shape[0], -1, -1)
        hidden = torch.cat([cls, embedded], dim=1) + self.w["vit.embeddings.position_embeddings"]
        assert c["hidden_act"] == "gelu", c["hidden_act"]
        for i in range(c["num_hidden_layers"]):
            layer = f"vit.encoder.layer.{i}"
            attended = self.self_attention(self.layer_norm(hidden, layer + ".layernorm_before"), layer + ".attention.attention")
            hidden = self.linear(attended, layer + ".attention.output.dense") + hidden
            inner = F.gelu(self.linear(self.layer_norm(hidden, layer + ".layernorm_after"), layer + ".intermediate.dense"))
            hidden = self.linear(inner, layer + ".output.dense") + hidden
        hidden = self.layer_norm(hidden, "vit.layernorm")
        return self.linear(hidden[:, 0, :], "classifier")


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
    overrides = load(request["head_file"]) if request.get("head_file") else {}
    model = ViT(model_dir, overrides, adapters)
    watched = request.get("grad_tensors") or []
    for name in watched:
        model.w[name] = model.w[name].clone().requires_grad_(True)
    pixels = torch.tensor(np.asarray(request["pixels"], dtype=np.float32).reshape(request["shape"]))
    logits = model.forward(pixels)
    result = {"logits": logits.tolist()}
    labels = request.get("labels")
    if labels is not None:
        if request["task"] == "regression":
            loss = F.mse_loss(logits.view(-1), torch.tensor(labels, dtype=torch.float32))
        else:
            loss = F.cross_entropy(logits, torch.tensor(labels, dtype=torch.long))
        result["loss"] = loss.item()
        sources = [adapters[t][2] for t in adapters] + [model.w[name] for name in watched]
        if sources:
            grads = torch.autograd.grad(loss, sources)
            result["grads"] = {t: g.tolist() for t, g in zip(adapters, grads)}
            result["tensor_grads"] = {name: g.reshape(-1).tolist() for name, g in zip(watched, grads[len(adapters):])}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
