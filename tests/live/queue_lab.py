"""The set-up the live `policy enforce` tests share: two network namespaces joined by a veth pair, the
client side's traffic to and from the other side sent through one netfilter queue (--queue-bypass), and
their removal. Only what these tests make is touched."""
import os
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77


def run(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def skip_reason(tools):
    """Why this machine cannot run the test (ctest's skip), or None."""
    if os.geteuid() != 0:
        return "needs root for network namespaces and netfilter queues"
    for tool in tools:
        if shutil.which(tool) is None:
            return f"{tool} not installed"
    if shutil.which("mountpoint") and run("mountpoint", "-q", "/", check=False).returncode != 0:
        return "/ is not a mount point here (a chroot?): ip netns exec cannot work"
    return None


class Lab:
    """Namespace `a` (the client side, 10.NET.0.1 and fdNET::1 with `ipv6`) and `b` (10.NET.0.2, fdNET::2).
    Every IPv4 packet between them, and every UDP packet over IPv6 (neighbour discovery stays out), crosses
    queue `queue` in `a`, in both directions."""

    def __init__(self, tag, net, queue, ipv6=False):
        self.a, self.b = tag + "a", tag + "b"
        self.tag, self.net, self.queue, self.ipv6 = tag, net, queue, ipv6
        self.peer4, self.peer6 = f"10.{net}.0.2", f"fd{net}::2"
        self.procs = []

    def up(self):
        """Makes the namespaces and the queue rules; a skip reason when this machine cannot, else None."""
        if run("ip", "netns", "add", self.a, check=False).returncode or \
                run("ip", "netns", "add", self.b, check=False).returncode:
            return "cannot create network namespaces here"
        run("ip", "link", "add", self.tag + "x", "netns", self.a, "type", "veth", "peer", "name", self.tag + "y",
            "netns", self.b)
        for n, dev, host in ((self.a, self.tag + "x", 1), (self.b, self.tag + "y", 2)):
            run("ip", "-n", n, "addr", "add", f"10.{self.net}.0.{host}/24", "dev", dev)
            if self.ipv6:
                run("ip", "-n", n, "-6", "addr", "add", f"fd{self.net}::{host}/64", "dev", dev, "nodad")
            run("ip", "-n", n, "link", "set", dev, "up")
            run("ip", "-n", n, "link", "set", "lo", "up")
        rules = [("iptables", self.peer4, [])]
        if self.ipv6:
            rules.append(("ip6tables", self.peer6, ["-p", "udp"]))
        for tool, peer, extra in rules:
            for chain, side in (("OUTPUT", "-d"), ("INPUT", "-s")):
                r = self.ns(self.a, tool, "-A", chain, side, peer, *extra, "-j", "NFQUEUE", "--queue-num",
                            str(self.queue), "--queue-bypass", check=False)
                if r.returncode != 0:
                    return f"this kernel or {tool} has no NFQUEUE target: {r.stderr.strip()}"
        return None

    def ns(self, name, *args, **kw):
        return run("ip", "netns", "exec", name, *args, **kw)

    def start(self, name, argv, **kw):
        """A process in namespace `name`, stopped at close()."""
        p = subprocess.Popen(["ip", "netns", "exec", name] + list(argv), **kw)
        self.procs.append(p)
        return p

    def queue_bound(self):
        lines = self.ns(self.a, "cat", "/proc/net/netfilter/nfnetlink_queue", check=False).stdout.split()
        return str(self.queue) in lines[::9]

    def wait_bound(self, proc, what="enforce"):
        """Waits up to 5 s for `proc` to bind the queue."""
        for _ in range(100):
            if self.queue_bound():
                return
            if proc.poll() is not None:
                fail(f"{what} ended at once: {proc.communicate()}")
            time.sleep(0.05)
        fail(f"{what} did not bind its queue within 5 s")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        run("ip", "netns", "del", self.a, check=False)
        run("ip", "netns", "del", self.b, check=False)
