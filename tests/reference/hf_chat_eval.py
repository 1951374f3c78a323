"""A chat-format run's validation loss recomputed by the real transformers 4.44 (../shared/hfref) on its merged
export: each conversation rendered and tokenised by transformers (apply_chat_template), the assistant-only
mask by hf_chat.py's definition, and the causal-LM loss of AutoModelForCausalLM (float64) on the ids, with
labels -100 outside the mask.

usage: /usr/bin/python3 -B tests/reference/hf_chat_eval.py < request.json > result.json
request: {"checkpoint": DIR (tokenizer with the chat template), "model": MERGED_DIR, "conversations": [[message, ...], ...]}
→ {"token_mean": loss over every masked token, "row_mean": mean over conversations of each one's token mean,
   "ids": [[...]], "mask": [[...]]}
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", "..", "shared", "hfref"))
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

import hf_chat  # noqa: E402

torch.set_num_threads(1)


def main():
    request = json.load(sys.stdin)
    tok = hf_chat.tokenizer_for(request["checkpoint"])
    model = AutoModelForCausalLM.from_pretrained(request["model"], torch_dtype=torch.float64).eval()
    total, count, rows, all_ids, all_masks = 0.0, 0, [], [], []
    for messages in request["conversations"]:
        result = hf_chat.case(tok, messages)
        ids, mask = result["ids"], result["mask"]
        labels = [i if m else -100 for i, m in zip(ids, mask)]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
        # Position t predicts token t + 1, as the loss of *ForCausalLM.
        logp = torch.log_softmax(logits[:-1], dim=-1)
        target = torch.tensor(labels[1:])
        keep = target != -100
        losses = -logp[keep].gather(1, target[keep].unsqueeze(1)).squeeze(1)
        total += float(losses.sum())
        count += int(keep.sum())
        rows.append(float(losses.mean()))
        all_ids.append(ids)
        all_masks.append(mask)
    json.dump({"token_mean": total / count, "row_mean": sum(rows) / len(rows), "ids": all_ids, "mask": all_masks}, sys.stdout)


if __name__ == "__main__":
    main()
