"""Independent reference for src/main/engine/training/optimizer.ts: torch.optim.AdamW with a LambdaLR
schedule and torch.nn.utils.clip_grad_norm_, on given parameters and gradients.

usage: /usr/bin/python3 tests/reference/torch_adamw.py < case.json
case.json: {"params": {"group": [[...], ...]}, "groups": [{"name", "lr", "weight_decay"}], "grads": [[per-step list of
per-param flat lists]], "schedule": {"kind", "warmup", "total"}, "max_norm": float or null}
Prints {"params": [[...]], "norms": [...]} after all steps. The schedules are written here from their
definitions (linear warmup, then linear decay or a half cosine), not taken from the code under test.
"""
import json
import math
import sys

import torch


def factor(kind, warmup, total):
    def f(step):
        if step < warmup:
            return step / max(1, warmup)
        if kind == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
    return f


def main():
    case = json.load(sys.stdin)
    torch.set_default_dtype(torch.float64)
    params = []
    groups = []
    for group in case["groups"]:
        tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in case["params"][group["name"]]]
        params.extend(tensors)
        groups.append({"params": tensors, "lr": group["lr"], "weight_decay": group["weight_decay"]})
    optimizer = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8)
    schedule = case["schedule"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor(schedule["kind"], schedule["warmup"], schedule["total"]))
    norms = []
    for step_grads in case["grads"]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        if case["max_norm"] is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, case["max_norm"])))
        optimizer.step()
        scheduler.step()
    json.dump({"params": [p.detach().reshape(-1).tolist() for p in params], "norms": norms}, sys.stdout)


if __name__ == "__main__":
    main()
