#!/usr/bin/env python3
"""The mission's rule, inline, on the project's own messenger: calls blocked, messaging kept.

sealrelay runs in one network namespace, the sealchat users in another; iptables sends every packet
between them through a netfilter queue (--queue-bypass) that `sealscope policy enforce` judges with one
rule: `activity: call` in the users' region is blocked, everything else allowed. Then:

* a chat scenario (texts, receipts, typing, end to end through the relay) completes while the rule is
  on: sealchat exits 0 only when every message and receipt arrived and decrypted;
* a call scenario placed while the rule is on gets (almost) no media through: each leg receives less than
  half of the RTP packets the other sent, and both together no more than the report says passed before the
  verdict, where the same call without sealscope on the queue (the control, run first) gets nine tenths or
  more;
* the report says so: the call rule acted on the call's UDP flows, all of them labelled SealChatCall and
  judged intended (none collateral), and dropped packets; the default (allow) dropped none, and the chat
  flows are among its flows.

Traffic stays inside the namespaces this test makes (two short scenarios and a control call); everything
is removed at the end. Skips (77) without root, iproute2, iptables or the kernel's NFQUEUE target.
usage: enforce_sealchat.py SEALSCOPE SEALRELAY SEALCHAT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queue_lab import SKIP, Lab, fail, skip_reason  # noqa: E402  (the namespaces and queue rules)

SEALSCOPE, SEALRELAY, SEALCHAT = (os.path.abspath(p) for p in sys.argv[1:4])
QUEUE = 8000 + os.getpid() % 1000
lab = Lab(f"sc{os.getpid()}", 80, QUEUE)
A, B = lab.a, lab.b  # A: the users, B: the relay
RULES = """\
regions:
  lab:
    subscribers: [10.80.0.0/24]
rules:
  - name: block-calls
    region: lab
    activity: call
    action: block
    intent: {activity: call}
default: allow
"""


def scenario(users, actions):
    return "\n".join(["relay: 10.80.0.2:5443", "seed: 7", "drain_s: 10", f"users: [{', '.join(users)}]", "actions:"]
                     + [f"  - {a}" for a in actions]) + "\n"


CHAT = scenario(["alice", "bob"], ["chat: {from: alice, to: bob, messages: 6, gap_median_s: 0.2, gap_sigma: 0.2, "
                                   "reply_prob: 0.5}"])


def call(a, b):
    return scenario([a, b], [f"call: {{from: {a}, to: {b}, seconds: 3}}"])


def play(tmp, name, text):
    """Runs one scenario in namespace A; (exit status, stderr, the call legs' [rtp_sent, rtp_received])."""
    path = os.path.join(tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    log = os.path.join(tmp, name + ".log.jsonl")
    p = subprocess.run(["ip", "netns", "exec", A, SEALCHAT, "--log", log, "scenario", path], cwd=tmp,
                       capture_output=True, text=True, timeout=120)
    legs = []  # one [rtp_sent, rtp_received] per call leg (caller and callee each log theirs)
    if os.path.exists(log):
        for line in open(log):
            r = json.loads(line)
            if r.get("action") == "call_done":
                legs.append([r["rtp_sent"], r["rtp_received"]])
    return p.returncode, p.stderr, legs


def delivered(legs):
    """(packets one leg sent, packets the other leg received) for both directions of a two-leg call."""
    (s0, r0), (s1, r1) = legs
    return [(s0, r1), (s1, r0)]


def main():
    why = skip_reason(("ip", "iptables"))
    if why:
        print("SKIP:", why)
        return SKIP
    tmp = tempfile.mkdtemp()
    try:
        why = lab.up()
        if why:
            print("SKIP:", why)
            return SKIP

        ports = os.path.join(tmp, "ports")
        lab.start(B, [SEALRELAY, "--listen", "10.80.0.2", "-d", os.path.join(tmp, "relay"), "-l",
                      os.path.join(tmp, "relay.log"), "--ports-file", ports])
        for _ in range(100):
            if os.path.exists(ports) and os.path.getsize(ports) > 0:
                break
            time.sleep(0.1)
        else:
            fail("sealrelay did not start")

        # The control: the same call with nobody on the queue (bypass) gets its media through.
        rc, err, control = play(tmp, "control", call("erin", "frank"))
        if rc != 0 or len(control) != 2 or not all(got >= 0.9 * sent and sent >= 20 for sent, got in delivered(control)):
            fail(f"control call without sealscope: exit {rc}, legs [sent, received] {control}; {err[-300:]}")

        rules = os.path.join(tmp, "rules.yaml")
        with open(rules, "w") as f:
            f.write(RULES)
        report = os.path.join(tmp, "report.json")
        flows = os.path.join(tmp, "flows.jsonl")
        enforcer = lab.start(A, [SEALSCOPE, "policy", "enforce", "--rules", rules, "--queue", str(QUEUE), "--duration",
                                 "150", "--report-json", report, "--flows", flows],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lab.wait_bound(enforcer)

        rc, err, _ = play(tmp, "chat", CHAT)
        if rc != 0:
            fail(f"the chat scenario failed with calls blocked (messaging must keep working): {err[-500:]}")
        rc_call, err_call, legs = play(tmp, "call", call("carol", "dave"))
        enforcer.send_signal(signal.SIGINT)
        out, eerr = enforcer.communicate(timeout=60)
        if enforcer.returncode != 0:
            fail(f"enforce: exit {enforcer.returncode}: {eerr[-300:]}")
        if len(legs) != 2 or not all(sent >= 20 and got < sent / 2 for sent, got in delivered(legs)):
            fail(f"the call got its media through with calls blocked: legs [sent, received] {legs} (exit {rc_call})")

        rep = json.load(open(report))
        by_rule = {r["rule"]: r for r in rep["rules"]}
        calls, default = by_rule["block-calls"], by_rule["default"]
        recs = [json.loads(l) for l in open(flows)]
        call_flows = [r for r in recs if r["label"] == "SealChatCall"]
        chat_flows = [r for r in recs if r["label"] == "SealChat"]
        if not call_flows or not chat_flows:
            fail(f"records: {len(call_flows)} SealChatCall and {len(chat_flows)} SealChat flows; wanted both")
        problems = []
        if calls["flows"] != len(call_flows):
            problems.append(f"block-calls acted on {calls['flows']} flows, the records have {len(call_flows)} call flows")
        if calls["intended"] != len(call_flows) or calls["collateral"] != 0:
            problems.append(f"block-calls intended {calls['intended']}, collateral {calls['collateral']}")
        if calls["dropped"]["packets"] == 0:
            problems.append("block-calls dropped nothing")
        # Only what passed before the verdict can have reached the other leg.
        if sum(got for _, got in delivered(legs)) > calls["before_verdict"]["packets"]:
            problems.append(f"the legs received {sum(got for _, got in delivered(legs))} RTP packets, more than the "
                            f"{calls['before_verdict']['packets']} the report says passed before the verdict")
        if default["dropped"]["packets"] != 0:
            problems.append(f"the default (allow) dropped {default['dropped']['packets']} packets")
        if default["flows"] < len(chat_flows):
            problems.append(f"default acted on {default['flows']} flows, fewer than the {len(chat_flows)} chat flows")
        if any(r["src_port"] == 5445 or r["dst_port"] != 5445 for r in call_flows):
            problems.append("a call flow not towards the relay's media port 5445")
        if problems:
            fail("; ".join(problems))
        print(f"ok: control call legs [sent, received] {control}; with the rule: chat scenario complete over "
              f"{len(chat_flows)} SealChat flows, call legs [sent, received] {legs}; block-calls dropped "
              f"{calls['dropped']['packets']} packets of {len(call_flows)} SealChatCall flows, "
              f"{calls['before_verdict']['packets']} passed before the verdict")
        return 0
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
