"""The SiVA training step in Debian's PyTorch on the CPU, for bench/train: the same BERT checkpoint, batch,
targets (query and value of every layer) and k; y = x Wᵀ + b + ((x V_b) ⊙ δ) U_bᵀ with torch's own SVD, a
classification head, cross-entropy, backward, AdamW. Prints {"seconds_per_step", "peak_rss_mib", "threads",
"openblas"} (the OpenBLAS torch ran on and its core: bench/openblas_info.py; bench/train sets OPENBLAS_CORETYPE).

usage: /usr/bin/python3 bench/torch_train_step.py MODEL_DIR BATCH LENGTH STEPS PERC [THREADS]
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "reference"))
sys.path.insert(0, here)
from openblas_info import openblas_info  # noqa: E402
from torch_encoders import Encoder  # noqa: E402


class SivaEncoder(Encoder):
    """The reference encoder with SiVA's low-rank forward on the adapted targets (ΔW never formed)."""

    def linear(self, x, module):
        y = F.linear(x, self.w[module + ".weight"], self.w[module + ".bias"])
        if module in self.adapters:
            u, v, delta = self.adapters[module]
            y = y + ((x @ v) * delta) @ u.T
        return y


def main():
    model_dir, batch, length, steps, perc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    if len(sys.argv) > 6:
        torch.set_num_threads(int(sys.argv[6]))
    torch.manual_seed(0)
    model = SivaEncoder(model_dir, {}, {})
    hidden = model.config["hidden_size"]
    for i in range(model.config["num_hidden_layers"]):
        for name in ("query", "value"):
            module = f"bert.encoder.layer.{i}.attention.self.{name}"
            u, s, vh = torch.linalg.svd(model.w[module + ".weight"].double(), full_matrices=False)
            k = max(1, round(perc * len(s)))
            model.adapters[module] = (u[:, -k:].float().contiguous(), vh[-k:, :].T.float().contiguous(), torch.zeros(k, requires_grad=True))
    model.w["classifier.weight"] = (torch.randn(2, hidden) * 0.02).requires_grad_(True)
    model.w["classifier.bias"] = torch.zeros(2, requires_grad=True)
    params = [a[2] for a in model.adapters.values()] + [model.w["classifier.weight"], model.w["classifier.bias"]]
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=0)
    input_ids = torch.randint(5, model.config["vocab_size"], (batch, length))
    mask = torch.ones(batch, length, dtype=torch.long)
    types = torch.zeros(batch, length, dtype=torch.long)
    labels = torch.randint(0, 2, (batch,))
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(model.forward(input_ids, mask, types), labels)
        loss.backward()
        optimizer.step()
        if step > 0:
            times.append(time.perf_counter() - start)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds_per_step": times[len(times) // 2], "peak_rss_mib": peak, "threads": torch.get_num_threads(), "openblas": openblas_info()}))


if __name__ == "__main__":
    main()
