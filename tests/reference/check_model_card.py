"""Reads model cards (README.md) with huggingface_hub 0.24's own parser (../shared/hfref), as the Hub and the
Hugging Face libraries read them, for tests/unit/export/modelCard.test.ts.

usage: /usr/bin/python3 -B tests/reference/check_model_card.py CARD.md [CARD.md ...] > cards.json

Per card, in order: {"path", "data": ModelCard.load(path).data.to_dict(), "repo_card_data": the same read
as a plain RepoCard, "model_name" and "eval_results" (model-index read into huggingface_hub's EvalResult
objects by ModelCardData itself, with ignore_metadata_errors=False, so a malformed model-index raises),
"yaml_round_trip" (to_dict() after writing the metadata back with to_yaml() and reading it again),
"text_heading" (the first line of the card's text after the front matter) and "problems" (what failed).
ModelCard.validate needs the Hub, so it is not run; the offline checks are the ones above. Prints the list
as JSON and exits 0 only when no card has a problem.
"""
import sys

sys.dont_write_bytecode = True
import os  # noqa: E402

HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401

import json  # noqa: E402

import yaml  # noqa: E402
from huggingface_hub import ModelCard, ModelCardData, RepoCard  # noqa: E402


def eval_result(r):
    return {
        "task_type": r.task_type,
        "task_name": r.task_name,
        "dataset_type": r.dataset_type,
        "dataset_name": r.dataset_name,
        "dataset_revision": r.dataset_revision,
        "dataset_split": r.dataset_split,
        "metric_type": r.metric_type,
        "metric_name": r.metric_name,
        "metric_value": r.metric_value,
    }


def check(path):
    out = {"path": path, "problems": []}
    try:
        card = ModelCard.load(path, ignore_metadata_errors=False)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        out["problems"].append(f"ModelCard.load: {type(error).__name__}: {error}")
        return out
    out["data"] = card.data.to_dict()
    out["text_heading"] = card.text.lstrip("\n").split("\n", 1)[0]
    out["model_name"] = card.data.model_name
    out["eval_results"] = [eval_result(r) for r in (card.data.eval_results or [])]
    try:
        strict = ModelCardData(ignore_metadata_errors=False, **card.data.to_dict())
        if strict.to_dict() != out["data"]:
            out["problems"].append("ModelCardData(**data).to_dict() differs from the card's data")
    except Exception as error:  # noqa: BLE001
        out["problems"].append(f"ModelCardData(**data): {type(error).__name__}: {error}")
    out["yaml_round_trip"] = yaml.safe_load(card.data.to_yaml())
    try:
        out["repo_card_data"] = RepoCard.load(path).data.to_dict()
    except Exception as error:  # noqa: BLE001
        out["problems"].append(f"RepoCard.load: {type(error).__name__}: {error}")
    return out


def main():
    results = [check(path) for path in sys.argv[1:]]
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    sys.exit(1 if any(r["problems"] for r in results) else 0)


if __name__ == "__main__":
    main()
