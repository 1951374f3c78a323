"""Independent reference for src/main/engine/training/metrics.ts: scikit-learn and scipy.

usage: /usr/bin/python3 tests/reference/metrics_reference.py < cases.json
cases.json: [{"kind": "classes", "predicted": [...], "actual": [...], "classes": n} |
             {"kind": "values", "x": [...], "y": [...]}]
Prints one JSON object per case with the metrics that apply.
"""
import json
import sys

from scipy import stats
from sklearn import metrics


def main():
    out = []
    for case in json.load(sys.stdin):
        if case["kind"] == "classes":
            p, a, n = case["predicted"], case["actual"], case["classes"]
            average = "binary" if n == 2 else "macro"
            out.append({
                "accuracy": metrics.accuracy_score(a, p),
                "f1": metrics.f1_score(a, p, average=average, labels=list(range(n)), zero_division=0),
                "matthews": metrics.matthews_corrcoef(a, p),
            })
        else:
            out.append({"pearson": stats.pearsonr(case["x"], case["y"])[0], "spearman": stats.spearmanr(case["x"], case["y"])[0]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
