#!/usr/bin/python3
"""bench_outbound.py - relaying: SMTP in, SMTP out to 10 destinations,
Yubin beside Postfix, same run

  YUBIN_BIN=.../bin YUBIN_HELPERS=.../tests /usr/bin/python3 \
      tests/bench/bench_outbound.py [--messages 2000] [--destinations 10] \
      [--sessions 2] [--size 4096] [--timeout 180] [--rounds 2] \
      [--skip-postfix]

Measures, for each server, relayed messages per second: MESSAGES
messages, spread evenly over DESTINATIONS domains (d0.example ...), are
handed to the server's smtpd on loopback by Postfix's smtp-source (one
process per domain, SESSIONS connections each, several messages per
connection, PAYLOAD bytes each), and the server relays them through
transport_maps (dN.example -> smtp:[127.0.0.1]:PORT_N) to one Postfix
smtp-sink per destination (its running counter, -c, read as it goes).
The clock runs from just before the first connect to the moment the last
sink has counted its share, so every message must have been relayed; the
time at which the last message was accepted is shown too. Each run ends
only when the server's queue is empty again (no reply lost), and a sink
that counted more than its share (a message relayed twice) is an error. Both servers keep their defaults for
destination concurrency and connection caching; the share of deliveries
made over a reused connection (conn_use= in the log) is shown.

Yubin runs as a real instance (yubin start-fg) from a temp dir, set up
as tests/proto/test_delivery.py does. Postfix (Debian's postfix; needs
root) runs from a throwaway config_directory in another temp dir, started
as tests/bench/bench_smtp.py does (its own queue, data directory and
maillog_file; /etc/postfix and the system service are never touched).
Prints both rates and the ratio (Yubin / Postfix). A benchmark: it
measures and reports; nothing here passes or fails on speed.
"""
import argparse
import os
import re
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "proto"))

from bench_smtp import (SMTP_SOURCE, PostfixServer, SENDER,  # noqa: E402
                        postfix_wanted, stop_servers)
from conftest import IS_ROOT, Instance, free_port, port_open  # noqa: E402
from conftest import wait_for  # noqa: E402
from test_delivery import Mta  # noqa: E402

SMTP_SINK = "/usr/sbin/smtp-sink"


def write_transport(path, ports):
    with open(path, "w") as f:
        for i, port in enumerate(ports):
            f.write("d%d.example smtp:[127.0.0.1]:%d\n" % (i, port))
    os.chmod(path, 0o644)


def reuse_share(log, since):
    """(deliveries, of which over a reused connection) in log[since:]"""
    sent = reused = 0
    for line in log[since:].splitlines():
        if ", relay=127.0.0.1[" in line and "status=sent" in line:
            sent += 1
            reused += ", conn_use=" in line
    return sent, reused


class YubinRelay:
    name = "yubin"

    def __init__(self, base, ports):
        os.makedirs(base)
        os.chmod(base, 0o755)
        self.inst = Instance(base)
        self.mta = Mta(self.inst)
        self.port = self.inst.add_service("smtpd")
        self.spool = self.inst.spool
        self.transport = os.path.join(base, "transport")
        write_transport(self.transport, ports)

    def start(self):
        self.mta.start(smtpd_client_connection_count_limit="0",
                       transport_maps="texthash:" + self.transport,
                       smtp_tls_security_level="none")
        if not wait_for(lambda: port_open(self.port), 10):
            raise RuntimeError("yubin smtpd did not answer:\n"
                               + self.inst.log())

    def log(self):
        return self.inst.log()

    def stop(self):
        self.inst.stop()

    def log_tail(self):
        return self.inst.log()[-3000:]


class PostfixRelay(PostfixServer):
    """bench_smtp's throwaway Postfix, relaying by transport_maps."""

    def __init__(self, base, ports):
        super().__init__(base, [])
        transport = os.path.join(self.etc, "transport")
        write_transport(transport, ports)
        with open(os.path.join(self.etc, "main.cf"), "a") as f:
            f.write("transport_maps = texthash:%s\n" % transport)
            f.write("smtp_tls_security_level = none\n")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def queue_empty(spool):
    """no message file left in incoming/, active/ or deferred/ (Postfix
    hashes them into subdirectories)"""
    for d in ("incoming", "active", "deferred"):
        for _, _, files in os.walk(os.path.join(spool, d)):
            if files:
                return False
    return True


class Sink:
    """One smtp-sink and its running message counter."""

    MESG = re.compile(rb"mesg=(\d+)")

    def __init__(self, port):
        cmd = [SMTP_SINK, "-4", "-c", "-h", "sink.example"]
        if IS_ROOT:
            cmd += ["-u", "nobody"]
        self.port = port
        self.count = 0
        self.proc = subprocess.Popen(cmd + ["127.0.0.1:%d" % port, "256"],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: self.proc.poll() is not None
                        or port_open(port), 10) \
                or self.proc.poll() is not None:
            raise RuntimeError("smtp-sink on port %d did not start" % port)

    def fileno(self):
        return self.proc.stdout.fileno()

    def read(self):
        """take in what the counter said; False at its end"""
        data = os.read(self.fileno(), 65536)
        for m in self.MESG.finditer(data):
            self.count = max(self.count, int(m.group(1)))
        return bool(data)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def run(server, ports, count, sessions, size, timeout):
    """(msgs/s relayed, seconds until the last was accepted,
    deliveries, reused)"""
    per = count // len(ports)
    since = len(server.log())
    sinks = []
    sources = []
    try:
        sinks = [Sink(p) for p in ports]
        t0 = time.monotonic()
        deadline = t0 + timeout
        for i in range(len(ports)):
            sources.append(subprocess.Popen(
                [SMTP_SOURCE, "-4", "-d", "-s", str(sessions),
                 "-m", str(per), "-l", str(size), "-M", "client.example.net",
                 "-f", SENDER, "-t", "bench@d%d.example" % i,
                 "127.0.0.1:%d" % server.port],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        accepted = done = None
        while time.monotonic() < deadline:
            waiting = [k for k in sinks if k.count < per]
            if not waiting:
                done = time.monotonic() - t0
                break
            ready, _, _ = select.select(waiting, [], [], 0.2)
            for k in ready:
                k.read()
            if accepted is None and all(p.poll() is not None
                                        for p in sources):
                accepted = time.monotonic() - t0
        if done is None:
            raise RuntimeError("%s: %d of %d messages relayed in %gs\n%s"
                               % (server.name, sum(k.count for k in sinks),
                                  per * len(ports), timeout,
                                  server.log_tail()))
        for p in sources:
            p.wait(max(1.0, deadline - time.monotonic()))
        if accepted is None:
            accepted = done
        bad = [p.stderr.read().decode(errors="replace").strip()
               for p in sources if p.returncode != 0]
        if bad:
            raise RuntimeError("%s: smtp-source failed: %s\n%s"
                               % (server.name, bad[0], server.log_tail()))
        # every reply reached the server: its queue is empty
        if not wait_for(lambda: queue_empty(server.spool), 30, 0.1):
            raise RuntimeError("%s: the queue did not empty\n%s"
                               % (server.name, server.log_tail()))
        for k in sinks:
            while select.select([k], [], [], 0)[0] and k.read():
                pass
        extra = [(k.port, k.count) for k in sinks if k.count != per]
        if extra:
            raise RuntimeError("%s: sinks counted %s, want %d each"
                               % (server.name, extra, per))
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s: smtp-source did not finish in %gs\n%s"
                           % (server.name, timeout, server.log_tail()))
    finally:
        for p in sources:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        for k in sinks:
            k.stop()
    # the log lines of the last deliveries may trail the last receipt
    wait_for(lambda: reuse_share(server.log(), since)[0] >= per * len(ports),
             5)
    sent, reused = reuse_share(server.log(), since)
    return per * len(ports) / done, accepted, sent, reused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--destinations", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=2,
                    help="smtp-source connections per destination domain")
    ap.add_argument("--size", type=int, default=4096,
                    help="payload bytes per message (smtp-source -l)")
    ap.add_argument("--timeout", type=float, default=180,
                    help="seconds allowed for each run")
    ap.add_argument("--rounds", type=int, default=2,
                    help="runs per server, taking turns; the best counts")
    ap.add_argument("--skip-postfix", action="store_true")
    args = ap.parse_args()

    for tool in (SMTP_SOURCE, SMTP_SINK):
        if not os.access(tool, os.X_OK):
            print("bench_outbound: %s is missing (apt-get install postfix, "
                  "then disable its service): skipped" % tool)
            return 0
    base = tempfile.mkdtemp(prefix="yubin-bench-out-")
    os.chmod(base, 0o755)
    servers = []
    ports = {}
    try:
        ports["yubin"] = [free_port() for _ in range(args.destinations)]
        servers.append(YubinRelay(os.path.join(base, "yubin"),
                                  ports["yubin"]))
        if postfix_wanted(args):
            ports["postfix"] = [free_port()
                                for _ in range(args.destinations)]
            servers.append(PostfixRelay(os.path.join(base, "postfix"),
                                        ports["postfix"]))
        for s in servers:
            s.start()

        print("SMTP in -> SMTP out: %d messages of %d bytes over %d "
              "destinations (one smtp-sink each), %d smtp-source "
              "connections per destination"
              % (args.messages, args.size, args.destinations,
                 args.sessions), flush=True)
        best = {}
        for r in range(args.rounds):    # interleaved: fairer when the
            for s in servers:           # machine is shared
                rate, accepted, sent, reused = run(
                    s, ports[s.name], args.messages, args.sessions,
                    args.size, args.timeout)
                print("  %-8s round %d: %8.1f msg/s relayed (last accepted "
                      "after %.2fs; %d of %d deliveries over a reused "
                      "connection)" % (s.name, r + 1, rate, accepted, reused,
                                       sent), flush=True)
                if rate > best.get(s.name, (0,))[0]:
                    best[s.name] = (rate, reused, sent)
        print()
        for name, (rate, reused, sent) in best.items():
            print("%-8s %8.1f msg/s relayed" % (name, rate))
        if "postfix" in best:
            print("ratio yubin / postfix: %.2f"
                  % (best["yubin"][0] / best["postfix"][0]))
    finally:
        stop_servers(servers, base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
