"""The SiVA training step in the real transformers (4.44, ../shared/hfref) on Debian's PyTorch on the CPU, for
bench/train: the checkpoint's own class (BertForSequenceClassification) loaded with from_pretrained from the
bench's folder, float32, eval mode (no dropout, as our step), every weight frozen but the classification head
and SiVA's δ on the query and value of every layer, y = x Wᵀ + b + ((x V_b) ⊙ δ) U_bᵀ with torch's own SVD
(ΔW never formed); the class's own cross-entropy, backward, AdamW. Prints {"seconds_per_step",
"peak_rss_mib", "threads", "openblas"} (the OpenBLAS torch ran on and its core: bench/openblas_info.py;
bench/train sets OPENBLAS_CORETYPE, and this script leaves the thread variables as bench/train set them).

usage: /usr/bin/python3 bench/torch_train_step.py MODEL_DIR BATCH LENGTH STEPS PERC [THREADS]
"""
import json
import os
import resource
import sys
import time

sys.dont_write_bytecode = True
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "hfref"))
# hfenv defaults OMP_NUM_THREADS to 2 (its tests share two cores); that would cap OpenBLAS's pool on a bigger
# machine, so the variable is put back as bench/train gave it before torch loads OpenBLAS.
_omp_threads = os.environ.get("OMP_NUM_THREADS")
import hfenv  # noqa: E402,F401  (vendored transformers first, offline)

if _omp_threads is None:
    os.environ.pop("OMP_NUM_THREADS", None)
else:
    os.environ["OMP_NUM_THREADS"] = _omp_threads

import torch  # noqa: E402
import transformers  # noqa: E402
from openblas_info import openblas_info  # noqa: E402

# The head is new by design (checked below); its "newly initialized" warning would only clutter the bench.
transformers.logging.set_verbosity_error()

TARGETS = ("query", "value")


class SivaLinear(torch.nn.Module):
    """A frozen nn.Linear with SiVA's low-rank update: δ scales the bottom k singular directions of W."""

    def __init__(self, base, perc):
        super().__init__()
        self.base = base
        u, s, vh = torch.linalg.svd(base.weight.detach().double(), full_matrices=False)
        k = max(1, round(perc * len(s)))
        self.register_buffer("u", u[:, -k:].float().contiguous())
        self.register_buffer("v", vh[-k:, :].T.float().contiguous())
        self.delta = torch.nn.Parameter(torch.zeros(k))

    def forward(self, x):
        return self.base(x) + ((x @ self.v) * self.delta) @ self.u.T


def build(model_dir, batch, length, perc):
    """The model with δ on the targets, its AdamW and one random batch (seed 0): (model, optimizer, inputs)."""
    config = transformers.AutoConfig.from_pretrained(model_dir)
    (architecture,) = config.architectures
    model, info = getattr(transformers, architecture).from_pretrained(model_dir, num_labels=2, torch_dtype=torch.float32, output_loading_info=True)
    # Only the head is new: any other weight transformers drew itself would make this a different model.
    assert sorted(info["missing_keys"]) == ["classifier.bias", "classifier.weight"], info
    assert not info["unexpected_keys"] and not info["mismatched_keys"], info
    model.eval()
    model.requires_grad_(False)
    torch.manual_seed(0)
    layers = getattr(model, model.base_model_prefix).encoder.layer
    deltas = []
    for layer in layers:
        attention = layer.attention.self
        for name in TARGETS:
            wrapped = SivaLinear(getattr(attention, name), perc)
            setattr(attention, name, wrapped)
            deltas.append(wrapped.delta)
    head = model.classifier
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape) * 0.02)
        head.bias.zero_()
    head.requires_grad_(True)
    optimizer = torch.optim.AdamW([*deltas, head.weight, head.bias], lr=1e-3, weight_decay=0)
    inputs = {
        "input_ids": torch.randint(5, config.vocab_size, (batch, length)),
        "attention_mask": torch.ones(batch, length, dtype=torch.long),
        "token_type_ids": torch.zeros(batch, length, dtype=torch.long),
        "labels": torch.randint(0, 2, (batch,)),
    }
    return model, optimizer, inputs


def train_step(model, optimizer, inputs):
    optimizer.zero_grad()
    loss = model(**inputs).loss
    loss.backward()
    optimizer.step()
    return loss


def main():
    model_dir, batch, length, steps, perc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    if len(sys.argv) > 6:
        torch.set_num_threads(int(sys.argv[6]))
    model, optimizer, inputs = build(model_dir, batch, length, perc)
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        train_step(model, optimizer, inputs)
        if step > 0:
            times.append(time.perf_counter() - start)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds_per_step": times[len(times) // 2], "peak_rss_mib": peak, "threads": torch.get_num_threads(), "openblas": openblas_info()}))


if __name__ == "__main__":
    main()
