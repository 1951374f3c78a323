"""Writes a GPT-2-small-shaped checkpoint of random weights: 12 blocks, n_embd 768, Conv1D layout, so
48 weight matrices (attn.c_attn [768, 2304], attn.c_proj [768, 768], mlp.c_fc [768, 3072],
mlp.c_proj [3072, 768]) plus biases, layer norms and position embeddings, in F32, with a config.json.
The token embedding table (50257 x 768) is left out: inspect skips embeddings, and it would only make
the file 150 MB larger. Initialised as GPT-2 is (normal(0, 0.02), residual projections scaled by
1/sqrt(2 n_layer)), seeded.

usage: python3 tests/reference/make_gpt2_small_random.py OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name, arr in tensors:
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for _, arr in tensors:
            f.write(np.ascontiguousarray(arr, dtype="<f4").tobytes())
    os.replace(tmp, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261128)
    d, layers = 768, 12
    std, resid = 0.02, 0.02 / np.sqrt(2 * layers)
    f32 = lambda shape, s: (rng.standard_normal(shape) * s).astype(np.float32)
    tensors = [("transformer.wpe.weight", f32((1024, d), 0.01))]
    for i in range(layers):
        p = f"transformer.h.{i}."
        tensors += [
            (p + "ln_1.weight", np.ones(d, np.float32)), (p + "ln_1.bias", np.zeros(d, np.float32)),
            (p + "attn.c_attn.weight", f32((d, 3 * d), std)), (p + "attn.c_attn.bias", np.zeros(3 * d, np.float32)),
            (p + "attn.c_proj.weight", f32((d, d), resid)), (p + "attn.c_proj.bias", np.zeros(d, np.float32)),
            (p + "ln_2.weight", np.ones(d, np.float32)), (p + "ln_2.bias", np.zeros(d, np.float32)),
            (p + "mlp.c_fc.weight", f32((d, 4 * d), std)), (p + "mlp.c_fc.bias", np.zeros(4 * d, np.float32)),
            (p + "mlp.c_proj.weight", f32((4 * d, d), resid)), (p + "mlp.c_proj.bias", np.zeros(d, np.float32)),
        ]
    tensors += [("transformer.ln_f.weight", np.ones(d, np.float32)), ("transformer.ln_f.bias", np.zeros(d, np.float32))]
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": d, "n_layer": layers, "n_head": 12,
              "n_positions": 1024, "n_inner": None, "vocab_size": 50257, "activation_function": "gelu_new",
              "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
