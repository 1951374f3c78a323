"""Half-precision and sharded variants of the tiny checkpoints, for the export tests (numpy only).

  /usr/bin/python3 tests/reference/make_export_fixtures.py

writes, from the committed F32 fixtures:
  tests/fixtures/models/tiny-bert-bf16-sharded/  tiny-bert in BF16 (round to nearest even), split into
      two shards with model.safetensors.index.json, as transformers saves with a small max_shard_size
  tests/fixtures/models/tiny-gpt2-f16/           tiny-random-gpt2 in F16, one file

The data order of each file is kept (not re-sorted), and __metadata__ {"format": "pt"} carried over.
Rerunning writes the same bytes.
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_numpy import bf16_bits_from_float32, read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "models")


def converted(src, dtype):
    metadata, entries = read_safetensors(src)
    out = []
    for name, stored, shape, raw, _ in entries:
        assert stored == "F32", f"{name}: expected F32"
        values = np.frombuffer(raw, "<f4").reshape(shape)
        if dtype == "BF16":
            out.append((name, "BF16", bf16_bits_from_float32(values).reshape(shape)))
        else:
            out.append((name, "F16", values.astype("<f2")))
    return metadata, out


def copy_side_files(src_dir, dst_dir, torch_dtype):
    for name in sorted(os.listdir(src_dir)):
        if name.endswith(".safetensors"):
            continue
        if name == "config.json":
            with open(os.path.join(src_dir, name)) as f:
                config = json.load(f)
            config["torch_dtype"] = torch_dtype
            with open(os.path.join(dst_dir, name), "w") as f:
                json.dump(config, f, indent=2, sort_keys=True)
                f.write("\n")
        else:
            shutil.copyfile(os.path.join(src_dir, name), os.path.join(dst_dir, name))


def bert_bf16_sharded():
    src_dir = os.path.join(ROOT, "tiny-bert")
    dst = os.path.join(ROOT, "tiny-bert-bf16-sharded")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    metadata, tensors = converted(os.path.join(src_dir, "model.safetensors"), "BF16")
    half = len(tensors) // 2
    shards = [tensors[:half], tensors[half:]]
    weight_map = {}
    total = 0
    for i, group in enumerate(shards):
        name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(dst, name), group, metadata, order="given")
        for tensor_name, _, array in group:
            weight_map[tensor_name] = name
            total += array.nbytes
    with open(os.path.join(dst, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
        f.write("\n")
    copy_side_files(src_dir, dst, "bfloat16")


def gpt2_f16():
    src_dir = os.path.join(ROOT, "tiny-random-gpt2")
    dst = os.path.join(ROOT, "tiny-gpt2-f16")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    metadata, tensors = converted(os.path.join(src_dir, "model.safetensors"), "F16")
    write_safetensors(os.path.join(dst, "model.safetensors"), tensors, metadata, order="given")
    copy_side_files(src_dir, dst, "float16")


if __name__ == "__main__":
    bert_bf16_sharded()
    gpt2_f16()
