"""A BERT-shaped checkpoint with random weights for bench/train: BERT-base width (768 hidden, 12 heads,
3072 MLP, 30522-token vocabulary) and as many layers as asked, in transformers' layout.

usage: /usr/bin/python3 bench/make_bert_random.py OUT_DIR [LAYERS]
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from safetensors_numpy import write_safetensors  # noqa: E402


def main():
    out = sys.argv[1]
    layers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    hidden, heads, inner, vocab, positions = 768, 12, 3072, 30522, 512
    rng = np.random.default_rng(7)
    tensors = []

    def add(name, shape, std=0.02, value=None):
        array = np.full(shape, value, dtype=np.float32) if value is not None else rng.normal(0, std, shape).astype(np.float32)
        tensors.append((name, "F32", array))

    add("bert.embeddings.word_embeddings.weight", (vocab, hidden))
    add("bert.embeddings.position_embeddings.weight", (positions, hidden))
    add("bert.embeddings.token_type_embeddings.weight", (2, hidden))
    add("bert.embeddings.LayerNorm.weight", (hidden,), value=1.0)
    add("bert.embeddings.LayerNorm.bias", (hidden,), value=0.0)
    for i in range(layers):
        p = f"bert.encoder.layer.{i}"
        for name in ("query", "key", "value"):
            add(f"{p}.attention.self.{name}.weight", (hidden, hidden))
            add(f"{p}.attention.self.{name}.bias", (hidden,))
        add(f"{p}.attention.output.dense.weight", (hidden, hidden))
        add(f"{p}.attention.output.dense.bias", (hidden,))
        add(f"{p}.attention.output.LayerNorm.weight", (hidden,), value=1.0)
        add(f"{p}.attention.output.LayerNorm.bias", (hidden,), value=0.0)
        add(f"{p}.intermediate.dense.weight", (inner, hidden))
        add(f"{p}.intermediate.dense.bias", (inner,))
        add(f"{p}.output.dense.weight", (hidden, inner))
        add(f"{p}.output.dense.bias", (hidden,))
        add(f"{p}.output.LayerNorm.weight", (hidden,), value=1.0)
        add(f"{p}.output.LayerNorm.bias", (hidden,), value=0.0)
    add("bert.pooler.dense.weight", (hidden, hidden))
    add("bert.pooler.dense.bias", (hidden,))
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
    config = {
        "architectures": ["BertForSequenceClassification"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inner, "layer_norm_eps": 1e-12,
        "max_position_embeddings": positions, "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": layers,
        "pad_token_id": 0, "position_embedding_type": "absolute", "type_vocab_size": 2, "vocab_size": vocab,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
