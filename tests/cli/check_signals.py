#!/usr/bin/env python3
"""Ctrl-C and SIGTERM outside the read loop: before it starts, and while the outputs are written.

An output that is a FIFO holds sealscope in open() until a reader comes, at a point the test can see
(/proc/PID/wchan), so the signal lands in a known phase instead of a race with the clock:

1. analyze, --flows FIFO: opened after nDPI's set-up, before the first packet is read. SIGINT there, then
   a reader: exit 130, the summary says INTERRUPTED, no flow read, the records file (empty) and the summary
   JSON written in full. (Before, the default action ended the process there: no summary JSON at all.)
2. policy test, --pass-pcap FIFO: the same with SIGTERM: exit 130, the report JSON written, marked.
3. audit, --report-json FIFO: opened after every packet was read. SIGTERM there, then a reader: the report
   is whole JSON and the exit status is the verdict's (0): the signal came after the reading, so nothing was
   left out. (Before, the handler was gone by then and the report was never written.)
4. Twice: the second SIGINT ends the process at once by the signal (for an output nobody reads), with no
   reader ever coming.

usage: check_signals.py SEALSCOPE REPO_ROOT
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

failures = []


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else f" ({detail})"))
    if not ok:
        failures.append(what)


def blocked_on_fifo(proc, timeout=30.0):
    """Waits until the process sleeps opening a FIFO (wait_for_partner); False after `timeout` s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with open(f"/proc/{proc.pid}/wchan") as f:
                if "partner" in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def read_fifo(path):
    with open(path, "rb") as f:
        return f.read()


def run_until_blocked(args, fifo, what):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok = blocked_on_fifo(proc)
    check(f"{what}: waits opening the FIFO", ok)
    if not ok:
        proc.kill()
        proc.communicate()
        return None
    return proc


def finish(proc, fifo, what):
    """Reads the FIFO (the output's whole content) and waits for the process; (content, rc, stdout)."""
    time.sleep(0.3)  # a process the signal would end has ended by now
    if proc.poll() is not None:
        out, err = proc.communicate()
        check(f"{what}: still running after the signal", False, f"ended with {proc.returncode}: {err[:200]!r}")
        return None, proc.returncode, out
    data = read_fifo(fifo)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return data, proc.returncode, out


def main():
    sealscope, root = sys.argv[1], sys.argv[2]
    cap = os.path.join(root, "captures", "mixed.pcap")
    with tempfile.TemporaryDirectory() as work:
        fifo = os.path.join(work, "fifo")
        os.mkfifo(fifo)
        summary = os.path.join(work, "summary.json")

        # 1. analyze: SIGINT before the first packet.
        what = "analyze, SIGINT before reading"
        proc = run_until_blocked([sealscope, "analyze", "--no-progress", cap, "--flows", fifo, "--summary-json",
                                  summary], fifo, what)
        if proc:
            proc.send_signal(signal.SIGINT)
            data, rc, out = finish(proc, fifo, what)
            if data is not None:
                check(f"{what}: exit 130", rc == 130, rc)
                check(f"{what}: the summary says INTERRUPTED", b"INTERRUPTED" in out, out[-300:])
                check(f"{what}: no flow read, so no record", data == b"", data[:200])
                s = json.load(open(summary)) if os.path.exists(summary) else {}
                check(f"{what}: the summary JSON written, interrupted, no frame read",
                      s.get("interrupted") is True and s.get("frames") == 0 and s.get("flows", {}).get("flows") == 0,
                      {k: s.get(k) for k in ("interrupted", "frames", "flows")})

        # 2. policy test: SIGTERM before the first packet.
        what = "policy test, SIGTERM before reading"
        report = os.path.join(work, "policy.json")
        proc = run_until_blocked([sealscope, "policy", "test", "-q", "--rules",
                                  os.path.join(root, "rules", "calls-blocked-chat-allowed.yaml"), cap,
                                  "--pass-pcap", fifo, "--report-json", report], fifo, what)
        if proc:
            proc.send_signal(signal.SIGTERM)
            data, rc, _ = finish(proc, fifo, what)
            if data is not None:
                check(f"{what}: exit 130", rc == 130, rc)
                check(f"{what}: the pass pcap is a pcap header and no frame", len(data) == 24, len(data))
                r = json.load(open(report)) if os.path.exists(report) else {}
                c = r.get("capture", {})
                check(f"{what}: the report JSON written, marked interrupted, no frame read",
                      c.get("interrupted") is True and c.get("frames") == 0, c)

        # 3. audit: SIGTERM while the report is written (after every packet was read).
        what = "audit, SIGTERM while writing the report"
        canaries = os.path.join(work, "canaries.txt")
        with open(canaries, "w") as f:
            f.write("a canary that is not in this capture\n")
        audit = [sealscope, "audit", "-q", "--canaries", canaries, cap, "--report-json"]
        reference = os.path.join(work, "audit.json")
        subprocess.run(audit + [reference], capture_output=True)
        proc = run_until_blocked(audit + [fifo], fifo, what)
        if proc:
            proc.send_signal(signal.SIGTERM)
            data, rc, _ = finish(proc, fifo, what)
            if data is not None:
                check(f"{what}: exit 0, the verdict's", rc == 0, rc)
                expected = open(reference, "rb").read()
                check(f"{what}: the report is whole, byte for byte the uninterrupted run's", data == expected,
                      f"{len(data)} bytes against {len(expected)}")
                check(f"{what}: ... which read every frame and is not marked interrupted",
                      b'"interrupted": false' in expected and b'"frames": 0' not in expected, expected[:200])

        # 4. A second signal ends the process at once.
        what = "analyze, SIGINT twice"
        proc = run_until_blocked([sealscope, "analyze", "--no-progress", cap, "--flows", fifo], fifo, what)
        if proc:
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            check(f"{what}: the second one ends it by the signal, no reader needed", proc.returncode == -signal.SIGINT,
                  proc.returncode)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
