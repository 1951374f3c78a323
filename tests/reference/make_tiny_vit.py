"""Writes a tiny random ViT checkpoint in Hugging Face layout, for the ViT family tests (src/main/engine/models/vit):

  tests/fixtures/models/tiny-vit/config.json               ViTConfig as transformers saves it (sorted keys, indent 2)
  tests/fixtures/models/tiny-vit/preprocessor_config.json  ViTImageProcessor as transformers saves it
  tests/fixtures/models/tiny-vit/model.safetensors         ViTForImageClassification's tensors, F32

Shape: 32×32 RGB input cut into 8×8 patches (16 patches + [CLS] = 17 positions), hidden 32, 2 layers,
4 heads, an MLP 37 wide (odd, so a transposed or mis-sliced matrix cannot go unnoticed), 3 labels named
after the digit fixtures' classes (tests/fixtures/data/images/digits/{0,1,2}).

The weights are not transformers' initialisation (trunc_normal(0, 0.02), zero biases, unit layer norms):
matrices, the patch kernel, the [CLS] token and the position embeddings are normal(0, 0.2), biases
normal(0, 0.1), layer-norm scales 1 + normal(0, 0.1) and shifts normal(0, 0.1), so activations and logits
are of order one and errors show. Seeded: rerunning writes the same bytes. No pooler: ViTForImageClassification
builds its ViTModel without one, so its checkpoints hold none.

usage: /usr/bin/python3 tests/reference/make_tiny_vit.py [OUT_DIR]   (default tests/fixtures/models)
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_numpy import write_safetensors  # noqa: E402

LABELS = ["0", "1", "2"]
HIDDEN, LAYERS, HEADS, INNER = 32, 2, 4, 37
IMAGE, PATCH, CHANNELS = 32, 8, 3


def config_json():
    """Every field ViTConfig.to_diff_dict keeps for this model: its own fields always, the base ones that differ."""
    config = {
        "architectures": ["ViTForImageClassification"],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": 16,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": HIDDEN,
        "id2label": {str(i): label for i, label in enumerate(LABELS)},
        "image_size": IMAGE,
        "initializer_range": 0.02,
        "intermediate_size": INNER,
        "label2id": {label: i for i, label in enumerate(LABELS)},
        "layer_norm_eps": 1e-12,
        "model_type": "vit",
        "num_attention_heads": HEADS,
        "num_channels": CHANNELS,
        "num_hidden_layers": LAYERS,
        "patch_size": PATCH,
        "pooler_act": "tanh",
        "pooler_output_size": HIDDEN,
        "qkv_bias": True,
        "torch_dtype": "float32",
        "transformers_version": "4.46.3",
    }
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def preprocessor_json():
    """ViTImageProcessor.to_json_string: its init arguments plus the processor type, sorted, indent 2."""
    processor = {
        "do_convert_rgb": None,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "ViTImageProcessor",
        "image_std": [0.5, 0.5, 0.5],
        "resample": 2,
        "rescale_factor": 1 / 255,
        "size": {"height": IMAGE, "width": IMAGE},
    }
    return json.dumps(processor, indent=2, sort_keys=True) + "\n"


class Tensors:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.items = []

    def normal(self, name, shape, std, mean=0.0):
        values = mean + self.rng.standard_normal(shape) * std
        self.items.append((name, "F32", values.astype(np.float32)))

    def linear(self, name, out_features, in_features):
        self.normal(name + ".weight", (out_features, in_features), 0.2)
        self.normal(name + ".bias", (out_features,), 0.1)

    def layer_norm(self, name):
        self.normal(name + ".weight", (HIDDEN,), 0.1, mean=1.0)
        self.normal(name + ".bias", (HIDDEN,), 0.1)


def vit_tensors(seed=20260311):
    t = Tensors(seed)
    patches = (IMAGE // PATCH) ** 2
    t.normal("vit.embeddings.cls_token", (1, 1, HIDDEN), 0.2)
    t.normal("vit.embeddings.position_embeddings", (1, patches + 1, HIDDEN), 0.2)
    # nn.Conv2d(num_channels, hidden, kernel_size=patch, stride=patch): weight [out, in, kh, kw].
    t.normal("vit.embeddings.patch_embeddings.projection.weight", (HIDDEN, CHANNELS, PATCH, PATCH), 0.2)
    t.normal("vit.embeddings.patch_embeddings.projection.bias", (HIDDEN,), 0.1)
    for i in range(LAYERS):
        layer = f"vit.encoder.layer.{i}"
        t.layer_norm(f"{layer}.layernorm_before")
        for part in ("query", "key", "value"):
            t.linear(f"{layer}.attention.attention.{part}", HIDDEN, HIDDEN)
        t.linear(f"{layer}.attention.output.dense", HIDDEN, HIDDEN)
        t.layer_norm(f"{layer}.layernorm_after")
        t.linear(f"{layer}.intermediate.dense", INNER, HIDDEN)
        t.linear(f"{layer}.output.dense", HIDDEN, INNER)
    t.layer_norm("vit.layernorm")
    t.linear("classifier", len(LABELS), HIDDEN)
    return t.items


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    out = argv[1] if len(argv) > 1 else os.path.join(here, "..", "fixtures", "models")
    folder = os.path.join(out, "tiny-vit")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(config_json())
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        f.write(preprocessor_json())
    write_safetensors(os.path.join(folder, "model.safetensors"), vit_tensors(), metadata={"format": "pt"})


if __name__ == "__main__":
    main(sys.argv)
