"""Parse a CSV/TSV file with Python's csv module and print its rows as JSON: an independent reference
for tests/unit/data. Usage: python3 data_csv_reference.py FILE [DELIMITER]"""
import csv
import json
import sys

path = sys.argv[1]
delimiter = sys.argv[2] if len(sys.argv) > 2 else ","
# newline='' lets the csv module see the file's own line breaks, including those inside quoted fields.
with open(path, newline="", encoding="utf-8-sig") as handle:
    rows = [row for row in csv.reader(handle, delimiter=delimiter) if row]
print(json.dumps(rows))
