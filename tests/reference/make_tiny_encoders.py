"""Writes two tiny random encoder checkpoints in Hugging Face layout, for the BERT and RoBERTa family tests:

  tests/fixtures/models/tiny-bert/     BertForSequenceClassification-shaped, 3 labels
  tests/fixtures/models/tiny-roberta/  RobertaForSequenceClassification-shaped, 3 labels

Each is a config.json with the fields (and key order: sorted, indent 2) that transformers writes for
BertConfig / RobertaConfig, and a model.safetensors in F32 with transformers' tensor names (LayerNorm
parameters as `.LayerNorm.weight` / `.LayerNorm.bias`; no `position_ids` buffer, which transformers no
longer saves). The architecture is small but not degenerate: hidden 32, 2 layers, 4 heads, an MLP 37 wide
(odd, so a transposed or mis-sliced matrix cannot go unnoticed).

The weights are not transformers' initialisation: matrices and embeddings are normal(0, 0.2) and biases
normal(0, 0.1), so activations and logits are of order one and errors show; layer-norm scales are
1 + normal(0, 0.1). Padding rows of the embedding tables are random too (transformers zeroes them), so a
wrong position or padding id changes the logits. Seeded: rerunning writes the same bytes.

usage: /usr/bin/python3 tests/reference/make_tiny_encoders.py [OUT_DIR]   (default tests/fixtures/models)
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import write_safetensors  # noqa: E402

LABELS = ["negative", "neutral", "positive"]


def config_json(model_type, architecture, fields):
    config = {
        "architectures": [architecture],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "id2label": {str(i): label for i, label in enumerate(LABELS)},
        "initializer_range": 0.02,
        "intermediate_size": 37,
        "label2id": {label: i for i, label in enumerate(LABELS)},
        "max_position_embeddings": 64,
        "model_type": model_type,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.46.3",
        "use_cache": True,
        **fields,
    }
    return json.dumps(dict(sorted(config.items())), indent=2) + "\n"


class Weights:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.tensors = []

    def normal(self, name, shape, std):
        self.tensors.append((name, "F32", (self.rng.standard_normal(shape) * std).astype(np.float32)))

    def linear(self, name, out_features, in_features):
        self.normal(name + ".weight", (out_features, in_features), 0.2)
        self.normal(name + ".bias", (out_features,), 0.1)

    def layer_norm(self, name, size):
        self.tensors.append((name + ".weight", "F32", (1 + self.rng.standard_normal(size) * 0.1).astype(np.float32)))
        self.normal(name + ".bias", (size,), 0.1)


def encoder(w, prefix, vocab, positions, types, hidden=32, layers=2, inner=37):
    w.normal(f"{prefix}.embeddings.word_embeddings.weight", (vocab, hidden), 0.2)
    w.normal(f"{prefix}.embeddings.position_embeddings.weight", (positions, hidden), 0.2)
    w.normal(f"{prefix}.embeddings.token_type_embeddings.weight", (types, hidden), 0.2)
    w.layer_norm(f"{prefix}.embeddings.LayerNorm", hidden)
    for i in range(layers):
        p = f"{prefix}.encoder.layer.{i}"
        for part in ("query", "key", "value"):
            w.linear(f"{p}.attention.self.{part}", hidden, hidden)
        w.linear(f"{p}.attention.output.dense", hidden, hidden)
        w.layer_norm(f"{p}.attention.output.LayerNorm", hidden)
        w.linear(f"{p}.intermediate.dense", inner, hidden)
        w.linear(f"{p}.output.dense", hidden, inner)
        w.layer_norm(f"{p}.output.LayerNorm", hidden)


def write(out, name, config, tensors):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config)
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors, metadata={"format": "pt"})


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[1] if len(argv) > 1 else os.path.join(here, "..", "fixtures", "models")

    bert = Weights(20260301)
    encoder(bert, "bert", vocab=120, positions=64, types=2)
    bert.linear("bert.pooler.dense", 32, 32)
    bert.linear("classifier", len(LABELS), 32)
    bert_config = config_json(
        "bert",
        "BertForSequenceClassification",
        {"layer_norm_eps": 1e-12, "pad_token_id": 0, "type_vocab_size": 2, "vocab_size": 120},
    )
    write(out, "tiny-bert", bert_config, bert.tensors)

    roberta = Weights(20260302)
    encoder(roberta, "roberta", vocab=100, positions=64, types=1)
    roberta.linear("classifier.dense", 32, 32)
    roberta.linear("classifier.out_proj", len(LABELS), 32)
    roberta_config = config_json(
        "roberta",
        "RobertaForSequenceClassification",
        {"bos_token_id": 0, "eos_token_id": 2, "layer_norm_eps": 1e-05, "pad_token_id": 1, "type_vocab_size": 1, "vocab_size": 100},
    )
    write(out, "tiny-roberta", roberta_config, roberta.tensors)


if __name__ == "__main__":
    main(sys.argv)
