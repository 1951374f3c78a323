"""PyTorch checkpoints written by Debian's real torch (torch.save) and the real transformers'
save_pretrained(safe_serialization=False), for tests/unit/io/torchCheckpoint.test.ts.

    /usr/bin/python3 -B tests/reference/torch_save_fixtures.py OUT SENTINEL

Writes into OUT:
  dtypes.bin          a state dict in every dtype, views (transposed, sliced, offset), tied weights, a 0-d tensor
  dtypes.json         {name: {dtype, shape, values}} of it: the values torch holds, as float64, row-major
  legacy.bin          the same dict in the pre-1.6 (non-zip) format
  malicious.bin       torch.save of an object whose __reduce__ is (os.system, ("touch SENTINEL",))
  malicious-eval.bin  the same with builtins.eval
  bert/               tests/fixtures/models/tiny-bert re-saved with save_pretrained(safe_serialization=False)
  bert-sharded/       the same with max_shard_size="40KB" (pytorch_model-0000i-of-0000n.bin + index)
  bert.json           {name: {shape, singularValues}} of every 2-D tensor of bert/pytorch_model.bin (numpy SVD)
  inputs.npz          two token sequences for check_export.py (the pure-Python tokenizers cannot read tokenizer.json)
Nothing here loads the malicious files (a copy aimed at OUT/payload-ran is loaded once, to show the payload is live). Prints a one-line summary last.
"""
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401  (vendored transformers first, offline)

import numpy as np  # noqa: E402
import torch  # noqa: E402

out, sentinel = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(18)


def rand(*shape):
    return torch.randn(*shape, generator=g, dtype=torch.float64)


base = rand(5, 3)
wide = rand(4, 6)
tied = rand(3, 4).float()
state = {
    "f32": rand(2, 3).float(),
    "f16": rand(3, 2).half(),
    "bf16": rand(2, 2, 2).bfloat16(),
    "f64": rand(4),
    "i64": torch.tensor([[-(2**40), 7, 0], [3, -1, 2**33]], dtype=torch.int64),
    "i32": torch.tensor([1, -2, 2**30], dtype=torch.int32),
    "bool": torch.tensor([True, False, True, True]),
    "scalar": torch.tensor(2.5, dtype=torch.float32),
    "empty": torch.zeros(0, 3),
    # Views: non-contiguous strides and storage offsets into a storage other tensors share.
    "transposed": base.float().t(),
    "sliced": wide[1:, 2:5],
    "row": wide[2],
    "wide": wide,
    # Tied weights: two names, one storage.
    "tied.a": tied,
    "tied.b": tied,
    "param": torch.nn.Parameter(rand(2, 2).float()),
}
torch.save(state, os.path.join(out, "dtypes.bin"))
dtype_names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
               torch.int64: "I64", torch.int32: "I32", torch.bool: "BOOL"}
values = {}
for name, t in state.items():
    t = t.detach()
    values[name] = {"dtype": dtype_names[t.dtype], "shape": list(t.shape),
                    "values": t.to(torch.float64).contiguous().reshape(-1).tolist()}
with open(os.path.join(out, "dtypes.json"), "w") as f:
    json.dump(values, f)

torch.save({"f32": state["f32"]}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)


class Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {sentinel}",))


class ExploitEval:
    def __reduce__(self):
        return (eval, (f"open({sentinel!r}, 'w')",))


torch.save({"weight": torch.ones(2), "payload": Exploit()}, os.path.join(out, "malicious.bin"))
# The payload is live: the same file, aimed at another path, does run when torch.load unpickles it.
proof = os.path.join(out, "payload-ran")
live = os.path.join(out, "live.bin")
torch.save({"payload": type("Live", (), {"__reduce__": lambda self: (os.system, (f"touch {proof}",))})()}, live)
torch.load(live)
if not os.path.exists(proof):
    raise SystemExit("the malicious payload did not run under torch.load: the fixture proves nothing")
os.remove(live)
torch.save({"payload": ExploitEval()}, os.path.join(out, "malicious-eval.bin"))

from transformers import BertForSequenceClassification  # noqa: E402

tiny = os.path.join(ROOT, "tests", "fixtures", "models", "tiny-bert")
model = BertForSequenceClassification.from_pretrained(tiny)
for folder, extra in (("bert", {}), ("bert-sharded", {"max_shard_size": "40KB"})):
    target = os.path.join(out, folder)
    model.save_pretrained(target, safe_serialization=False, **extra)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tiny, name), os.path.join(target, name))
    if any(n.endswith(".safetensors") for n in os.listdir(target)):
        raise SystemExit(f"{target}: save_pretrained wrote safetensors")

saved = torch.load(os.path.join(out, "bert", "pytorch_model.bin"), map_location="cpu", weights_only=True) \
    if "weights_only" in torch.load.__code__.co_varnames else torch.load(os.path.join(out, "bert", "pytorch_model.bin"))
spectra = {}
for name, t in saved.items():
    if t.dim() == 2:
        a = t.to(torch.float64).numpy()
        spectra[name] = {"shape": list(a.shape), "singularValues": np.linalg.svd(a, compute_uv=False).tolist()}
with open(os.path.join(out, "bert.json"), "w") as f:
    json.dump(spectra, f)
ids = np.array([[2, 10, 11, 12, 3], [2, 20, 21, 3, 0]], dtype=np.int64)  # [CLS] … [SEP] [PAD] of tiny-bert's vocabulary
np.savez(os.path.join(out, "inputs.npz"), input_ids=ids, attention_mask=(ids != 0).astype(np.int64), token_type_ids=np.zeros_like(ids))
shards = sorted(n for n in os.listdir(os.path.join(out, "bert-sharded")) if n.endswith(".bin"))
print(f"torch {torch.__version__}: {len(state)} tensors, {len(spectra)} BERT matrices, {len(shards)} shards")
