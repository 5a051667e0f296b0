"""Parse Prometheus text format from stdin with the official Python client's
parser (prometheus_client.parser), check what it lets through, and print the
samples as JSON lines: {"name", "labels", "value"}. Exit 1 on any problem."""
import json
import math
import sys
from collections import defaultdict

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
families = list(text_string_to_metric_families(text))  # raises on malformed input

names = [f.name for f in families]
dupes = {n for n in names if names.count(n) > 1}
if dupes:
    sys.exit(f"families appear more than once: {sorted(dupes)}")

for f in families:
    if f.type != "histogram":
        continue
    series = defaultdict(list)
    counts = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        if s.name.endswith("_bucket"):
            series[key].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            counts[key] = s.value
    for key, buckets in series.items():
        buckets.sort()
        if not buckets or not math.isinf(buckets[-1][0]):
            sys.exit(f"{f.name}{key}: no +Inf bucket")
        values = [v for _, v in buckets]
        if values != sorted(values):
            sys.exit(f"{f.name}{key}: bucket counts decrease: {values}")
        if counts.get(key) != values[-1]:
            sys.exit(f"{f.name}{key}: _count {counts.get(key)} != +Inf bucket {values[-1]}")

for f in families:
    for s in f.samples:
        print(json.dumps({"family": f.name, "type": f.type, "name": s.name,
                          "labels": s.labels, "value": s.value}))
