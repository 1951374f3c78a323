"""The real transformers (4.44, ../shared/hfref) as the reference for the GPT-2, BERT, RoBERTa and ViT families
(src/main/engine/models/{gpt2,bert,roberta,vit}): the task's AutoModelFor… class loaded from a checkpoint
folder with from_pretrained, in eval mode (no dropout; the fixtures' configs keep dropout 0.1, so a pass that
applied it would not match), its logits, its own loss, and gradients of that loss by torch.autograd.grad.

usage: /usr/bin/python3 -B tests/reference/hf_models.py < jobs.json > results.json

jobs.json: {"jobs": [job, ...]}; results.json: {"results": [result, ...]} in the same order (one process for
many jobs: importing torch and transformers costs seconds, a tiny model's pass milliseconds). A job is one of

  {"kind": "fixture", "model": DIR, "arrays": [name, ...] (optional: all)}
      → reference.npz as make_fixtures.py wrote it (the inputs transformers' tokenizer or image processor made,
        and the logits after reloading), each array as {"shape": [...], "values": [flat]}, and fixture.json.

  {"kind": "forward", "model": DIR, "task": "classification" | "regression" | "causal-lm" | "image-classification",
   "input_ids", "attention_mask", "token_type_ids": [[int]] (text; the last two optional),
   "pixel_values": {"shape": [b, c, h, w], "values": [flat]} (images),
   "labels": [int] | [float] | [[int]] (causal LM: the ids, -100 where ignored; optional: no loss),
   "num_labels": N (optional: a head of another size than the checkpoint's, loaded with ignore_mismatched_sizes),
   "config": {...} (optional: config fields given to from_pretrained, e.g. {"pad_token_id": 0}),
   "head_file": FILE (optional), "adapters": FILE (optional), "method": M, "scaling": s (LoRA),
   "param_grads": [parameter name, ...] (optional), "dtype": "float64" (default) | "float32"}

The class: causal-lm → AutoModelForCausalLM; classification / regression → AutoModelForSequenceClassification
(regression with num_labels 1 and problem_type "regression": MSE on the squeezed logits), or, given pixel
values, AutoModelForImageClassification; image-classification → AutoModelForImageClassification. The loss is
the one the class computes from `labels` (causal LM: the shifted token mean over labels that are not -100).

dtype: float64 by default: the checkpoint's values (F32, F16 or BF16 as stored) are loaded with torch_dtype
float64, so the reference is transformers' computation with exact arithmetic, and what the tests measure is the
engine's float32 error alone. "float32" runs the class as transformers does by default.

head_file: a .safetensors of tensors (named as the class names them: classifier.weight, score.weight,
bert.pooler.dense.weight, …) loaded into the model after from_pretrained. Every weight that transformers
initialised itself (missing from the checkpoint, or mismatched in size) must be among them, else the job
fails: the reference never computes with a random weight the test did not give it. A tensor the class does not
have fails too.

adapters: a .safetensors holding, for some targets (the engine's target names: bert.encoder.layer.0.attention.
self.query, vit.encoder.layer.1.intermediate.dense, transformer.h.0.attn.c_attn.q — GPT-2's fused c_attn cut into
its q, k and v blocks of n_embd columns each, in Conv1D's [in, out] layout), the parameters of the method:
  method "band" (default): `<t>.U` [out, k], `<t>.V` [in, k], `<t>.delta` [k]: ΔW = U diag(δ) Vᵀ (SiVA's and
      TopK's update with the caller's singular vectors, or any vectors);
  method "siva" | "topk": `<t>.delta` [k]: ΔW = U_b diag(δ) V_bᵀ with U_b, V_b the singular vectors of the k
      smallest (siva) or largest (topk) singular values of the target's weight, from this script's own SVD
      (torch.linalg.svd, float64) of the weight transformers loaded;
  method "svdiff": `<t>.delta` [r]: W' = U diag(relu(σ + δ)) Vᵀ, i.e. ΔW = U diag(relu(σ + δ) − σ) Vᵀ;
  method "lora": `<t>.lora_A` [r, in], `<t>.lora_B` [out, r] (PEFT's layout): ΔW = scaling · B A.
W is [out, in] (nn.Linear orientation; for a Conv1D block, the transpose of its columns). Each adapted module's
weight becomes W + ΔW through torch's parametrize, so transformers' own forward runs on it.

→ {"class", "dtype", "problem_type", "loading_info": {missing_keys, unexpected_keys, mismatched_keys},
   "logits": {"shape", "values"}, "loss" (with labels), "grads": {adapter tensor name: [flat]} (the trainable
   ones: delta, lora_A, lora_B; with labels), "param_grads": {parameter name: [flat]} (with labels)}
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import numpy as np  # noqa: E402


def flat(array):
    array = np.asarray(array)
    return {"shape": list(array.shape), "values": array.reshape(-1).tolist()}


def fixture(job):
    arrays = np.load(os.path.join(job["model"], "reference.npz"))
    names = job.get("arrays") or arrays.files
    with open(os.path.join(job["model"], "fixture.json")) as f:
        info = json.load(f)
    return {"arrays": {name: flat(arrays[name]) for name in names}, "fixture": info}


# Everything below needs torch and transformers; the fixture job does not.


def model_class(job):
    import transformers

    task = job["task"]
    if task == "causal-lm":
        return transformers.AutoModelForCausalLM
    if task == "image-classification" or (task == "regression" and "pixel_values" in job):
        return transformers.AutoModelForImageClassification
    if task in ("classification", "regression"):
        return transformers.AutoModelForSequenceClassification
    raise SystemExit(f"unknown task {task}")


def load_model(job, torch):
    cls = model_class(job)
    dtype = {"float64": torch.float64, "float32": torch.float32}[job.get("dtype", "float64")]
    kwargs = dict(job.get("config") or {})
    if job["task"] == "regression":
        kwargs.update(num_labels=1, problem_type="regression")
    if job.get("num_labels") is not None:
        kwargs["num_labels"] = job["num_labels"]
    if "num_labels" in kwargs:
        kwargs["ignore_mismatched_sizes"] = True
    model, info = cls.from_pretrained(job["model"], torch_dtype=dtype, output_loading_info=True, **kwargs)
    model.eval()
    assert model.dtype == dtype, (model.dtype, dtype)
    info = {key: [entry if isinstance(entry, str) else entry[0] for entry in value] for key, value in info.items()}
    # Newly initialised by transformers: what the head file has to give.
    fresh = set(info["missing_keys"]) | set(info["mismatched_keys"])
    if job.get("head_file"):
        from safetensors.torch import load_file

        head = {name: tensor.to(dtype) for name, tensor in load_file(job["head_file"]).items()}
        missing, unexpected = model.load_state_dict(head, strict=False)
        if unexpected:
            raise SystemExit(f"{job['head_file']}: {cls.__name__} has no tensors {unexpected}")
        fresh -= set(head)
    if fresh:
        raise SystemExit(f"{job['model']}: transformers initialised {sorted(fresh)} itself and no head_file gives them")
    return model, info


def target_module(model, target):
    """The module computing a target, and the slice of its output columns (GPT-2's fused c_attn blocks)."""
    name, _, part = target.rpartition(".")
    if part in ("q", "k", "v") and name.endswith("attn.c_attn"):
        module = model.get_submodule(name)
        n = module.weight.shape[1] // 3
        start = {"q": 0, "k": n, "v": 2 * n}[part]
        return name, module, (start, start + n)
    return target, model.get_submodule(target), None


def linear_weight(module, columns):
    """W [out, in] in nn.Linear orientation: Conv1D stores [in, out] (one block of it for c_attn's q, k, v)."""
    from transformers.pytorch_utils import Conv1D

    weight = module.weight
    if isinstance(module, Conv1D):
        block = weight if columns is None else weight[:, columns[0] : columns[1]]
        return block.t()
    return weight


def adapter_updates(job, model, torch):
    """{module name: (module, [(columns, ΔW(params) [out, in])])} and the trainable tensors by name."""
    from safetensors.torch import load_file

    method = job.get("method", "band")
    tensors = {name: t.to(model.dtype) for name, t in load_file(job["adapters"]).items()}
    trainable = {}
    modules = {}
    targets = sorted({name.rsplit(".", 1)[0] for name in tensors})
    for target in targets:
        name, module, columns = target_module(model, target)
        if method == "lora":
            a = trainable.setdefault(f"{target}.lora_A", tensors[f"{target}.lora_A"].clone().requires_grad_(True))
            b = trainable.setdefault(f"{target}.lora_B", tensors[f"{target}.lora_B"].clone().requires_grad_(True))
            scaling = float(job["scaling"])
            update = lambda a=a, b=b, scaling=scaling: scaling * (b @ a)  # noqa: E731
        else:
            delta = trainable.setdefault(f"{target}.delta", tensors[f"{target}.delta"].clone().requires_grad_(True))
            if method == "band":
                u, v = tensors[f"{target}.U"], tensors[f"{target}.V"]
            else:
                w = linear_weight(module, columns).detach().double()
                u_all, s_all, vh_all = torch.linalg.svd(w, full_matrices=False)
                r, k = s_all.numel(), delta.numel()
                if method == "svdiff" and k != r:
                    raise SystemExit(f"{target}: svdiff trains all {r} singular values, the file has {k}")
                band = {"siva": slice(r - k, r), "topk": slice(0, k), "svdiff": slice(0, r)}[method]
                u, v = u_all[:, band].to(model.dtype), vh_all[band, :].t().to(model.dtype)
            if method == "svdiff":
                sigma = s_all.to(model.dtype)
                update = lambda u=u, v=v, d=delta, s=sigma: (u * (torch.relu(s + d) - s)) @ v.t()  # noqa: E731
            else:
                update = lambda u=u, v=v, d=delta: (u * d) @ v.t()  # noqa: E731
        modules.setdefault(name, (module, []))[1].append((columns, update))
    return modules, trainable


def parametrize_updates(modules, torch):
    """Each adapted module's weight becomes W + ΔW (for Conv1D, ΔWᵀ placed in its columns)."""
    from torch.nn.utils import parametrize
    from transformers.pytorch_utils import Conv1D

    class AddUpdates(torch.nn.Module):
        def __init__(self, conv1d, updates):
            super().__init__()
            self.conv1d, self.updates = conv1d, updates

        def forward(self, weight):
            for columns, update in self.updates:
                delta = update()
                if self.conv1d:
                    delta = delta.t()
                    if columns is not None:
                        before = weight.shape[1] - columns[1]
                        delta = torch.cat([delta.new_zeros(weight.shape[0], columns[0]), delta, delta.new_zeros(weight.shape[0], before)], dim=1)
                weight = weight + delta
            return weight

    for module, updates in modules.values():
        parametrize.register_parametrization(module, "weight", AddUpdates(isinstance(module, Conv1D), updates))


def forward(job):
    import torch

    model, info = load_model(job, torch)
    params = dict(model.named_parameters())
    watched = {}
    for name in job.get("param_grads") or []:
        if name not in params:
            raise SystemExit(f"{type(model).__name__} has no parameter {name}")
        watched[name] = params[name]
    trainable = {}
    if job.get("adapters"):
        modules, trainable = adapter_updates(job, model, torch)
        parametrize_updates(modules, torch)

    if "pixel_values" in job:
        pixels = job["pixel_values"]
        inputs = {"pixel_values": torch.tensor(pixels["values"], dtype=model.dtype).reshape(pixels["shape"])}
    else:
        inputs = {key: torch.tensor(job[key], dtype=torch.long) for key in ("input_ids", "attention_mask", "token_type_ids") if job.get(key) is not None}
    if job["task"] == "causal-lm":
        inputs["use_cache"] = False
    labels = job.get("labels")
    if labels is not None:
        regression = model.config.problem_type == "regression"
        inputs["labels"] = torch.tensor(labels, dtype=model.dtype if regression else torch.long)
    out = model(**inputs)
    result = {
        "class": type(model).__name__,
        "dtype": str(model.dtype).replace("torch.", ""),
        "problem_type": model.config.problem_type,
        "loading_info": info,
        "logits": flat(out.logits.detach().double().numpy()),
    }
    if labels is not None:
        result["loss"] = float(out.loss)
        sources = list(trainable.values()) + list(watched.values())
        grads = torch.autograd.grad(out.loss, sources) if sources else []
        result["grads"] = {name: g.reshape(-1).tolist() for name, g in zip(trainable, grads)}
        result["param_grads"] = {name: g.reshape(-1).tolist() for name, g in zip(watched, grads[len(trainable) :])}
    return result


def main():
    jobs = json.load(sys.stdin)["jobs"]
    if any(job["kind"] == "forward" for job in jobs):
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(0)  # transformers' own initialisation of new weights, which head_file then replaces
    kinds = {"fixture": fixture, "forward": forward}
    json.dump({"results": [kinds[job["kind"]](job) for job in jobs]}, sys.stdout)


if __name__ == "__main__":
    main()
