"""Many exports through hfref's check_export.py and check_eval.py in one process (importing torch and
transformers once).

usage: /usr/bin/python3 -B tests/reference/check_exports.py < CHECKS.json

CHECKS is a JSON list of check_export.py argument lists (["MERGED", "--task", "classify", "--peft", ...]);
a list whose first item is "check_eval" holds check_eval.py's arguments instead (RUN_DIR MERGED --task T
--validation FILE). Prints a JSON list of the reports, in the same order: each with `ok`, `problems`,
`notes`, `messages` (everything transformers and peft logged at WARNING and up, and Python warnings, per
step) and `summary` (the script's one-line summary).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
HFREF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "hfref")
sys.path.insert(0, HFREF)
import hfenv  # noqa: E402,F401
import check_eval  # noqa: E402
import check_export  # noqa: E402


def main():
    reports = []
    for argv in json.load(sys.stdin):
        if argv[:1] == ["check_eval"]:
            a = check_eval.parser().parse_args(argv[1:])
            report = check_eval.check(a)
            report["summary"] = check_eval.summary(report)
            reports.append(report)
            continue
        a = check_export.parser().parse_args(argv)
        if bool(a.peft) != bool(a.base):
            raise SystemExit(f"{argv}: --peft and --base go together")
        if not a.task:
            a.task = check_export.infer_task(a.merged)
        report = check_export.check(a)
        report["summary"] = check_export.summary(report)
        reports.append(report)
    json.dump(reports, sys.stdout, default=str)


if __name__ == "__main__":
    main()
