"""Independent numpy check of what `siva export` writes (no safetensors, transformers or peft packages).

usage: /usr/bin/python3 tests/reference/check_export.py SPEC.json   (or the JSON on stdin with "-")

SPEC: {"base": MODEL_DIR, "merged": DIR, "adapter": DIR (a SiVA Studio adapter with its singular
vectors), "peft": DIR (optional)}. Prints one JSON object of measurements; the tests decide what passes.

What it measures, from the files alone:
  layout      the merged folder has the base's weight files, each with the same tensors in the same data
              order, dtypes, shapes and __metadata__ (new head tensors appended to the last file); the
              shard index's weight_map and total_size match what the files hold
  untouched   every tensor that neither a target nor the head owns is byte-identical to the base
  targets     per target, from W (base) and W' (merged) as stored, in nn.Linear orientation, float64:
              ΔW = W' − W; its singular values past k; ‖U_outᵀ ΔW‖_F, with U_out the left singular vectors
              of W outside the trained band (numpy's SVD); ε·‖W‖_F for the stored dtype
  rounding    W' against W + U_b diag(δ) V_bᵀ (the adapter's float64 vectors, numpy products) rounded
              once to the stored dtype, ties to even (F32 and F16 by numpy's casts, which round from
              float64 directly; BF16 exactly, by rational comparison): elements equal, largest ulp gap
  head        merged head tensors against the adapter's float32 head values rounded to the stored dtype
  peft        per LoRA module, ‖lora_B·lora_A − ΔW‖_F / ‖ΔW‖_F with ΔW from the adapter, and alpha / r
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_numpy import DTYPES, bf16_bits_exact, read_safetensors, to_float64  # noqa: E402

UNIT_ROUNDOFF = {"F64": 2.0**-53, "F32": 2.0**-24, "F16": 2.0**-11, "BF16": 2.0**-8}


def weight_files(folder):
    """[(file name, metadata, entries)] in the checkpoint's order, and the index document if sharded."""
    index_path = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        names = sorted(set(index["weight_map"].values()))
    else:
        index, names = None, ["model.safetensors"]
    files = []
    for name in names:
        metadata, entries = read_safetensors(os.path.join(folder, name))
        files.append((name, metadata, entries))
    return files, index


def round_to(dtype, values):
    """float64 → the stored dtype's bytes, rounded once, ties to even."""
    values = np.asarray(values, dtype=np.float64)
    if dtype == "F64":
        return values.astype("<f8").tobytes()
    if dtype == "F32":
        return values.astype("<f4").tobytes()
    if dtype == "F16":
        with np.errstate(over="ignore"):
            return values.astype("<f2").tobytes()
    if dtype == "BF16":
        return np.array([bf16_bits_exact(float(v)) for v in values.ravel()], dtype="<u2").tobytes()
    raise ValueError(dtype)


def ulp_gap(dtype, a_raw, b_raw):
    """Largest distance in units in the last place between two same-dtype byte strings (same signs assumed)."""
    if dtype == "BF16":
        a, b = np.frombuffer(a_raw, "<i2").astype(np.int64), np.frombuffer(b_raw, "<i2").astype(np.int64)
    elif dtype == "F16":
        a, b = np.frombuffer(a_raw, "<i2").astype(np.int64), np.frombuffer(b_raw, "<i2").astype(np.int64)
    elif dtype == "F32":
        a, b = np.frombuffer(a_raw, "<i4").astype(np.int64), np.frombuffer(b_raw, "<i4").astype(np.int64)
    else:
        a, b = np.frombuffer(a_raw, "<i8"), np.frombuffer(b_raw, "<i8")
    return int(np.max(np.abs(a - b))) if a.size else 0


def linear_view(target, stored):
    """The target's W [out, in] from a stored tensor (Conv1D stores [in, out]; fused tensors hold blocks)."""
    out_features, in_features = target["shape"]
    start = target.get("slice", [0, out_features])[0]
    if target["conv1d"]:
        return stored[:, start : start + out_features].T
    return stored[start : start + out_features, :]


def adapter_delta(adapter_doc, tensors, target):
    """ΔW of one target from the adapter's own parameters, in float64 numpy."""
    name, method, settings = target["name"], adapter_doc["method"], target["settings"]
    p = lambda key: tensors[f"{name}.{key}"]  # noqa: E731
    if method in ("siva", "topk"):
        return p("u_b") @ np.diag(p("delta")) @ p("vt_b")
    if method == "svdiff":
        sigma = p("sigma")
        return p("u") @ np.diag(np.maximum(0.0, sigma + p("delta")) - sigma) @ p("vt")
    if method == "lora":
        return (settings["alpha"] / settings["rank"]) * (p("lora_B") @ p("lora_A"))
    raise ValueError(f"method {method} has no adapter parameters")


def load_tensors(path):
    _, entries = read_safetensors(path)
    return {name: to_float64(dtype, raw).reshape(shape) for name, dtype, shape, raw, _ in entries}


def check(spec):
    base_files, base_index = weight_files(spec["base"])
    merged_files, merged_index = weight_files(spec["merged"])
    with open(os.path.join(spec["adapter"], "adapter.json")) as f:
        adapter_doc = json.load(f)
    adapter = load_tensors(os.path.join(spec["adapter"], "adapter.safetensors"))
    prefix = adapter_doc["head"].get("renamePrefix", "")
    head_names = {t["name"] for t in adapter_doc["head"]["tensors"]}
    target_tensors = {t["weightTensor"] for t in adapter_doc["targets"]}

    result = {"layout": {}, "untouched": {}, "targets": [], "rounding": {}, "head": {}, "peft": None}

    # ---- layout
    layout = result["layout"]
    layout["sameFiles"] = [n for n, _, _ in base_files] == [n for n, _, _ in merged_files]
    base_by_name, merged_by_name = {}, {}
    problems = []
    for (name, base_meta, base_entries), (_, merged_meta, merged_entries) in zip(base_files, merged_files):
        if base_meta != merged_meta:
            problems.append(f"{name}: __metadata__ differs")
        expected = [prefix + e[0] for e in base_entries]
        got = [e[0] for e in merged_entries]
        extra = got[len(expected):]
        if got[: len(expected)] != expected:
            problems.append(f"{name}: tensor names or order differ")
        if any(x not in head_names for x in extra):
            problems.append(f"{name}: unexpected tensors {extra}")
        for e in base_entries:
            base_by_name[prefix + e[0]] = e
        for e in merged_entries:
            merged_by_name[e[0]] = e
            if e[0] in base_by_name and e[0] not in head_names:
                b = base_by_name[e[0]]
                if b[1] != e[1] or list(b[2]) != list(e[2]):
                    problems.append(f"{e[0]}: dtype or shape differs")
    if merged_index is not None:
        weight_map = merged_index["weight_map"]
        held = {e[0]: n for n, _, entries in merged_files for e in entries}
        if weight_map != held:
            problems.append("index weight_map does not match the shards")
        total = sum(len(e[3]) for _, _, entries in merged_files for e in entries)
        if merged_index["metadata"].get("total_size") != total:
            problems.append(f"index total_size {merged_index['metadata'].get('total_size')} != {total}")
        other_keys = {k: v for k, v in base_index.items() if k not in ("weight_map", "metadata")}
        if any(merged_index.get(k) != v for k, v in other_keys.items()):
            problems.append("index lost fields")
    layout["problems"] = problems

    # ---- untouched tensors: byte for byte
    changed = {prefix + t for t in target_tensors} | head_names
    untouched = [n for n in base_by_name if n not in changed]
    different = [n for n in untouched if base_by_name[n][3] != merged_by_name[n][3]]
    result["untouched"] = {"count": len(untouched), "different": different}

    # ---- targets: ΔW from the files, and the rounding against numpy
    deltas = {}
    per_tensor = {}
    for target in adapter_doc["targets"]:
        stored_name = target["weightTensor"]
        b = base_by_name[prefix + stored_name]
        m = merged_by_name[prefix + stored_name]
        dtype = b[1]
        w = linear_view(target, to_float64(dtype, b[3]).reshape(b[2]))
        w_new = linear_view(target, to_float64(dtype, m[3]).reshape(m[2]))
        delta_files = w_new - w
        delta = adapter_delta(adapter_doc, adapter, target)
        deltas[target["name"]] = delta
        k = target["settings"].get("k", target["settings"].get("rank"))
        band = target["settings"].get("band")
        u, s, _ = np.linalg.svd(w, full_matrices=False)
        singular = np.linalg.svd(delta_files, compute_uv=False)
        entry = {
            "name": target["name"],
            "dtype": dtype,
            "k": k,
            "deltaNorm": float(np.linalg.norm(delta_files)),
            "adapterDeltaNorm": float(np.linalg.norm(delta)),
            "roundingBound": float(UNIT_ROUNDOFF[dtype] * np.linalg.norm(w)),
            "sigmaBeyondK": float(singular[k]) if k < singular.size else 0.0,
        }
        if band is not None:
            outside = [i for i in range(s.size) if not (band[0] <= i < band[1])]
            entry["outsideBandNorm"] = float(np.linalg.norm(u[:, outside].T @ delta_files))
            entry["outsideBandNormAdapter"] = float(np.linalg.norm(u[:, outside].T @ delta))
        result["targets"].append(entry)
        per_tensor.setdefault(stored_name, []).append((target, delta))

    for stored_name, items in per_tensor.items():
        b = base_by_name[prefix + stored_name]
        m = merged_by_name[prefix + stored_name]
        dtype = b[1]
        total = to_float64(dtype, b[3]).reshape(b[2]).copy()
        for target, delta in items:
            view = linear_view(target, total)  # a view: writes land in `total`
            view += delta
        expected = round_to(dtype, total.ravel())
        size = DTYPES[dtype].itemsize
        equal = sum(expected[i : i + size] == m[3][i : i + size] for i in range(0, len(expected), size))
        result["rounding"][stored_name] = {"dtype": dtype, "elements": len(expected) // size, "equal": int(equal), "maxUlps": ulp_gap(dtype, expected, m[3])}

    # ---- head
    for t in adapter_doc["head"]["tensors"]:
        m = merged_by_name[t["name"]]
        expected = round_to(m[1], adapter[f"head.{t['name']}"].ravel())
        result["head"][t["name"]] = {"dtype": m[1], "equal": expected == m[3], "shape": list(m[2])}

    # ---- PEFT LoRA
    if spec.get("peft"):
        with open(os.path.join(spec["peft"], "adapter_config.json")) as f:
            config = json.load(f)
        lora = load_tensors(os.path.join(spec["peft"], "adapter_model.safetensors"))
        modules = {}
        for target in adapter_doc["targets"]:
            module = target["name"].rsplit(".", 1)[0] if "slice" in target else target["name"]
            modules.setdefault(module, []).append(target)
        checks = []
        for module, targets in modules.items():
            a = lora[f"base_model.model.{module}.lora_A.weight"]
            b = lora[f"base_model.model.{module}.lora_B.weight"]
            stored = base_by_name[prefix + targets[0]["weightTensor"]][2]
            out_total, in_features = (stored[1], stored[0]) if targets[0]["conv1d"] else (stored[0], stored[1])
            expected = np.zeros((out_total, in_features))
            for target in targets:
                start = target.get("slice", [0])[0]
                expected[start : start + target["shape"][0], :] += deltas[target["name"]]
            rank = a.shape[0]
            key = module.split(".", 1)[1] if "." in module else module
            r = config["rank_pattern"].get(key, config["r"])
            alpha = config["alpha_pattern"].get(key, config["lora_alpha"])
            norm = np.linalg.norm(expected)
            checks.append({
                "module": module,
                "rank": int(rank),
                "configRank": r,
                "scaling": alpha / r,
                "shapeA": list(a.shape),
                "shapeB": list(b.shape),
                "relativeError": float(np.linalg.norm(b @ a * (alpha / r) - expected) / norm) if norm > 0 else float(np.linalg.norm(b @ a)),
            })
        head_keys = sorted(k for k in lora if "lora_" not in k)
        result["peft"] = {"config": config, "modules": checks, "headKeys": head_keys}
    return result


if __name__ == "__main__":
    source = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1])
    json.dump(check(json.load(source)), sys.stdout)
