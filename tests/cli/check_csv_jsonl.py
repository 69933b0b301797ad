#!/usr/bin/env python3
"""--csv holds the --flows records, flattened (sealscope-flows(5)): for every flow of every capture given,
each CSV column must equal the JSONL field it flattens, as text for strings and as an exact decimal for
numbers (so 179.563 against 179.562, a tie rounded two ways, fails).

  check_csv_jsonl.py SEALSCOPE OUTDIR CAPTURE_OR_DIR...

Directories are read for *.pcap and *.pcapng (a missing directory is skipped: the corpus is optional)."""
import csv
import glob
import json
import os
import subprocess
import sys
from decimal import Decimal


# The tunnel object of each type (sealscope-flows(5)): its identifier's name, None for the types without one.
TUNNEL_ID = {"gtp-u": "teid", "vxlan": "vni", "geneve": "vni", "gre": "key", "erspan": "session",
             "tzsp": None, "capwap": None, "ip-in-ip": None}
TUNNEL_COLUMNS = ("type", "teid", "vni", "key", "session", "outer_src", "outer_dst")


class Shape(Exception):
    """A record whose tunnel object is not the shape sealscope-flows(5) gives its type."""


def flatten(obj, prefix=""):
    """JSONL record → {csv column: value}, by the record contract's flattening rules."""
    out = {}
    for k, v in obj.items():
        name = prefix + k
        if k == "tunnel" and not prefix:
            if v is not None:
                if v.get("type") not in TUNNEL_ID:
                    raise Shape(f"tunnel type {v.get('type')!r}")
                ident = TUNNEL_ID[v["type"]]
                keys = ["type"] + ([ident] if ident else []) + ["outer_src", "outer_dst"]
                if list(v) != keys:
                    raise Shape(f"{v['type']} tunnel with the fields {list(v)}, not {keys}")
            for sub in TUNNEL_COLUMNS:  # the identifier in its own column, the other identifier columns empty
                out["tunnel_" + sub] = None if v is None else v.get(sub)
        elif k == "tcp_flags" and not prefix:
            for flag in ("SYN", "FIN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"):
                out["tcp_" + flag.lower()] = None if v is None else v[flag]
        elif k == "splt":
            out[name] = v
        elif isinstance(v, dict):
            out.update(flatten(v, name + "_"))
        elif v is None and k == "tls" and not prefix:  # no TLS seen: the four columns are empty
            for sub in ("version", "alpn", "ja3c", "ja3s"):
                out["tls_" + sub] = None
        else:
            out[name] = v
    return out


def same(csv_text, value):
    if value is None:
        return csv_text == ""
    if isinstance(value, list):
        return json.loads(csv_text) == value
    if isinstance(value, str):
        return csv_text == value
    if isinstance(value, bool):
        return csv_text == ("true" if value else "false")
    return Decimal(csv_text) == Decimal(value)


def main():
    sealscope, outdir, *inputs = sys.argv[1:]
    captures = []
    for i in inputs:
        if os.path.isdir(i):
            captures += sorted(glob.glob(os.path.join(i, "*.pcap")) + glob.glob(os.path.join(i, "*.pcapng")))
        elif os.path.exists(i):
            captures.append(i)
    if not captures:
        print("no captures found")
        return 1
    os.makedirs(outdir, exist_ok=True)
    failures, flows, cells = [], 0, 0
    for cap in captures:
        jl, cv = os.path.join(outdir, "f.jsonl"), os.path.join(outdir, "f.csv")
        r = subprocess.run([sealscope, "analyze", "-q", "--no-progress", "--flows", jl, "--csv", cv, cap],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):  # 1: a capture cut short, its flows still written
            failures.append(f"{cap}: exit {r.returncode}: {r.stderr.strip()[:200]}")
            continue
        with open(jl) as f:
            records = [json.loads(line, parse_float=Decimal) for line in f if line.strip()]
        with open(cv, newline="") as f:
            rows = list(csv.DictReader(f))
        if len(records) != len(rows):
            failures.append(f"{cap}: {len(records)} JSONL records, {len(rows)} CSV rows")
            continue
        for rec, row in zip(records, rows):
            flows += 1
            try:
                flat = flatten(rec)
            except Shape as e:
                failures.append(f"{cap} flow {rec['flow_id']}: {e}")
                continue
            keys = list(flat)
            for k in [k for k, v in flat.items() if v is None and k not in row]:  # null statistics: empty columns
                # Its own columns: not those of a longer name it prefixes ("icmp" and "icmp_errors_count").
                longer = [o for o in keys if o != k and o.startswith(k + "_")]
                sub = [c for c in row if c.startswith(k + "_") and not any(c == o or c.startswith(o + "_") for o in longer)]
                if sub:
                    del flat[k]
                    flat.update({c: None for c in sub})
            if set(flat) != set(row):
                failures.append(f"{cap}: columns differ: only JSONL {sorted(set(flat) - set(row))}, "
                                f"only CSV {sorted(set(row) - set(flat))}")
                break
            for col, text in row.items():
                cells += 1
                if not same(text, flat[col]):
                    failures.append(f"{cap} flow {rec['flow_id']}: {col}: CSV {text!r}, JSONL {flat[col]!r}")
    for f in failures[:20]:
        print("FAIL", f)
    if failures:
        print(f"{len(failures)} differences")
        return 1
    print(f"{len(captures)} captures, {flows} flows, {cells} cells: CSV equals JSONL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
