"""Outbound concurrency and connection reuse: qmgr's per-destination
windows and the smtp client's connection cache, against SMTP sinks on
loopback (transport_maps or relayhost name [127.0.0.1]:PORT, so no DNS).

Covered: at most smtp_destination_concurrency_limit transactions at once
to one destination while another destination is served meanwhile (no
head-of-line blocking); the window starting at
smtp_initial_destination_concurrency and growing with good deliveries up
to the limit; smtp_destination_recipient_limit; back-to-back messages to
one next hop over fewer connections than messages, RSET before each
reuse and conn_use=N in the log; no reuse with caching off;
smtp_connection_cache_destinations with its idle time limit (QUIT);
smtp_connection_reuse_count_limit; a server that closes the idle
connection, hangs up on the RSET probe or on the next MAIL costs no mail;
a reload and a stop close the kept connections.
"""
import os
import re
import threading

import pytest

from conftest import pid_alive, wait_for
from smtp_sink import sinks  # noqa: F401 (a fixture)
from test_delivery import mta  # noqa: F401 (a fixture)
from test_durability import instance_pids

MESSAGE = (b"From: Ann <ann@example.com>\n"
           b"Subject: out %d\n"
           b"\n"
           b"Hello, number %d.\n")


def start(mta, relay=None, transport=None, **params):
    """relay: a sink for relayhost; transport: {domain: sink}"""
    mta.user("ann@example.com")
    opts = dict(smtp_tls_security_level="none")
    if relay is not None:
        opts["relayhost"] = f"[127.0.0.1]:{relay.port}"
    if transport:
        path = os.path.join(mta.base, "transport")
        with open(path, "w") as f:
            for domain, sink in transport.items():
                f.write(f"{domain} smtp:[127.0.0.1]:{sink.port}\n")
        os.chmod(path, 0o644)
        opts["transport_maps"] = "texthash:" + path
    opts.update(params)
    mta.start(**opts)
    assert mta.inst.wait_log(r"smtp\[\d+\]: ready", 10), mta.inst.log()


def message(i):
    return MESSAGE % (i, i)


def inject_burst(mta, rcpt, n, first=0):
    """n messages queued before qmgr is told of any, so that they reach
    it back to back; returns their queue IDs"""
    return [mta.inject(message(first + i), [rcpt], sender="ann@example.com",
                       notify=(i == n - 1))
            for i in range(n)]


def wait_all_removed(mta, qids, timeout=20):
    assert wait_for(lambda: not set(qids) & set(
        mta.queue_ids("incoming", "active", "deferred")), timeout), \
        mta.inst.log()


def verbs(sink):
    return [c.split(" ", 1)[0].upper() for c in sink.commands]


def test_destination_limit_and_no_head_of_line_blocking(mta, sinks):
    slow = sinks(hold=threading.Event())
    fast = sinks()
    start(mta, transport={"slow.example": slow, "fast.example": fast},
          smtp_destination_concurrency_limit="2")
    qids = [mta.inject(message(i), ["bob@slow.example"],
                       sender="ann@example.com") for i in range(6)]
    # two transactions reach the end of DATA and are held there
    assert wait_for(lambda: slow.held == 2, 10), mta.inst.log()
    # the other destination is not kept waiting behind them
    fq = mta.inject(message(99), ["carol@fast.example"],
                    sender="ann@example.com")
    assert fast.wait_messages(1), mta.inst.log()
    wait_all_removed(mta, [fq])
    assert slow.held == 2 and slow.max_held == 2
    assert not slow.messages            # none answered yet
    slow.hold.set()
    assert slow.wait_messages(6, timeout=20), mta.inst.log()
    wait_all_removed(mta, qids)
    assert slow.max_held == 2
    assert len(slow.messages) == 6


def test_window_starts_small_and_grows(mta, sinks):
    gate = threading.Event()
    slow = sinks(hold=gate)
    fast = sinks()
    start(mta, transport={"slow.example": slow, "fast.example": fast},
          smtp_initial_destination_concurrency="1",
          smtp_destination_concurrency_limit="3")
    qids = [mta.inject(message(i), ["bob@slow.example"],
                       sender="ann@example.com") for i in range(16)]
    assert wait_for(lambda: slow.held == 1, 10), mta.inst.log()
    # while one is held, the others wait: the window starts at 1
    fq = mta.inject(message(99), ["carol@fast.example"],
                    sender="ann@example.com")
    assert fast.wait_messages(1), mta.inst.log()
    wait_all_removed(mta, [fq])
    assert slow.held == 1 and not slow.messages
    # good deliveries widen it, never past the limit
    slow.reply_delay = 0.15
    gate.set()
    assert slow.wait_messages(16, timeout=30), mta.inst.log()
    wait_all_removed(mta, qids)
    assert slow.max_held == 3, slow.max_held


def test_recipient_limit_splits_transactions(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_destination_recipient_limit="2")
    rcpts = [f"r{i}@remote.example.org" for i in range(5)]
    qid = mta.inject(message(1), rcpts, sender="ann@example.com")
    assert sink.wait_messages(3), mta.inst.log()
    wait_all_removed(mta, [qid])
    got = sorted(len(tx.rcpts) for tx in sink.messages)
    assert got == [1, 2, 2]
    assert sorted(r for tx in sink.messages for r in tx.rcpts) == rcpts


def test_back_to_back_messages_share_a_connection(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_destination_concurrency_limit="1")
    qids = inject_burst(mta, "bob@remote.example.org", 5)
    assert sink.wait_messages(5), mta.inst.log()
    wait_all_removed(mta, qids)
    assert len(sink.messages) == 5
    assert sink.connections < 5, sink.connections
    # each connection's first transaction goes straight to MAIL; every
    # later one is preceded by an RSET probe
    v = verbs(sink)
    assert v.count("MAIL") == 5
    assert v.count("RSET") == 5 - sink.connections
    log = mta.inst.log()
    assert re.search(rf": to=<bob@remote\.example\.org>, relay=127\.0\.0\.1"
                     rf"\[127\.0\.0\.1\]:{sink.port}, conn_use=2, delay=",
                     log), log
    assert "status=deferred" not in log


def test_no_reuse_when_caching_is_off(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_destination_concurrency_limit="1",
          smtp_connection_cache_on_demand="no")
    qids = inject_burst(mta, "bob@remote.example.org", 4)
    assert sink.wait_messages(4), mta.inst.log()
    wait_all_removed(mta, qids)
    assert sink.connections == 4
    assert "RSET" not in verbs(sink)
    assert wait_for(lambda: sink.quits == 4, 5), sink.quits
    assert "conn_use=" not in mta.inst.log()


def test_listed_destination_kept_until_time_limit(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_connection_cache_on_demand="no",
          smtp_connection_cache_destinations="127.0.0.1",
          smtp_connection_cache_time_limit="2s")
    q1 = mta.inject(message(1), ["bob@remote.example.org"],
                    sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    wait_all_removed(mta, [q1])
    assert sink.active == 1 and sink.quits == 0     # kept, idle
    q2 = mta.inject(message(2), ["bob@remote.example.org"],
                    sender="ann@example.com")
    assert sink.wait_messages(2), mta.inst.log()
    wait_all_removed(mta, [q2])
    assert sink.connections == 1
    assert verbs(sink).count("RSET") == 1
    # idle past smtp_connection_cache_time_limit: QUIT, closed
    assert wait_for(lambda: sink.quits == 1 and sink.active == 0, 8), \
        (sink.quits, sink.active)


def test_reuse_count_limit(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_connection_cache_on_demand="no",
          smtp_connection_cache_destinations="127.0.0.1",
          smtp_connection_reuse_count_limit="1",
          smtp_destination_concurrency_limit="1")
    qids = inject_burst(mta, "bob@remote.example.org", 4)
    assert sink.wait_messages(4), mta.inst.log()
    wait_all_removed(mta, qids)
    # two messages per connection: the first use and one reuse
    assert sink.connections == 2, sink.connections
    assert "conn_use=3" not in mta.inst.log()


def test_server_closing_idle_connection_costs_nothing(mta, sinks):
    sink = sinks(hangup_after_tx=True)
    start(mta, relay=sink, smtp_destination_concurrency_limit="1")
    qids = inject_burst(mta, "bob@remote.example.org", 5)
    assert sink.wait_messages(5), mta.inst.log()
    wait_all_removed(mta, qids)
    assert len(sink.messages) == 5
    assert sink.connections == 5
    assert "status=deferred" not in mta.inst.log()


@pytest.mark.parametrize("verb", ["RSET", "MAIL"])
def test_connection_failing_on_reuse_costs_nothing(mta, sinks, verb):
    sink = sinks(hangup_on=verb)
    start(mta, relay=sink, smtp_destination_concurrency_limit="1")
    qids = inject_burst(mta, "bob@remote.example.org", 5)
    assert sink.wait_messages(5), mta.inst.log()
    wait_all_removed(mta, qids)
    # every message once, though reuse was tried and failed each time
    assert sorted(int(tx.data.split(b"Subject: out ")[1].split(b"\r")[0])
                  for tx in sink.messages) == list(range(5))
    assert verbs(sink).count("RSET") >= 1
    log = mta.inst.log()
    assert "status=deferred" not in log
    assert "conn_use=" not in log


def test_reload_quits_kept_connections(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_connection_cache_destinations="127.0.0.1",
          smtp_connection_cache_time_limit="60s")
    old = instance_pids(mta.inst, "smtp")
    assert old
    q = mta.inject(message(1), ["bob@remote.example.org"],
                   sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    wait_all_removed(mta, [q])
    assert sink.active == 1
    r = mta.inst.cmd("reload")
    assert r.returncode == 0, r.stderr
    # the draining client says QUIT on its idle connection and exits
    assert wait_for(lambda: sink.quits == 1 and sink.active == 0, 10), \
        mta.inst.log()
    assert wait_for(lambda: not any(pid_alive(p) for p in old), 10), \
        mta.inst.log()


def test_stop_closes_kept_connections(mta, sinks):
    sink = sinks()
    start(mta, relay=sink, smtp_connection_cache_destinations="127.0.0.1",
          smtp_connection_cache_time_limit="60s")
    q = mta.inject(message(1), ["bob@remote.example.org"],
                   sender="ann@example.com")
    assert sink.wait_messages(1), mta.inst.log()
    wait_all_removed(mta, [q])
    assert sink.active == 1
    mta.inst.stop(timeout=10)
    assert wait_for(lambda: sink.active == 0, 5)
