"""local's pooled delivery workers for virtual users.

A virtual user that local's main process found in authd is delivered by a
worker kept for its uid:gid (smtp/local_pool.c) instead of a process
forked per request. These tests check that the same worker serves many
deliveries (it logs "delivery worker PID started for uid UID" once, runs
as that uid when Yubin is root, and stays a child of local), that a burst
larger than the pool waits for its workers instead of forking, that
everything arrives byte for byte, and that killing workers with SIGKILL
while mail streams in loses nothing: qmgr defers the unanswered request
and a new worker delivers it.
"""
import os
import re
import signal

from conftest import IS_ROOT, wait_for
from test_delivery import Mta, expected, vmail_owner
from test_durability import instance_pids

USER = "ann@example.com"
PER_OWNER = 16          # LOCAL_POOL_PER_OWNER


def message(i):
    return (b"From: Sender <sender@example.net>\n"
            b"To: ann@example.com\n"
            b"Subject: pool %d\n"
            b"Message-ID: <pool-%d@example.net>\n"
            b"\n"
            b"Message number %d.\n" % (i, i, i))


def started_workers(log):
    return [int(p) for p in
            re.findall(r"delivery worker (\d+) started for uid \d+", log)]


def children(pid):
    out = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.update(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def proc_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def local_main(inst):
    """local's main process: the one whose parent is not a local"""
    pids = instance_pids(inst, "local")
    mains = []
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        if ppid not in pids:
            mains.append(pid)
    assert len(mains) == 1, (pids, mains)
    return mains[0]


def numbers(mta, box):
    got = []
    for _, data in mta.messages(box):
        m = re.search(rb"^Subject: pool (\d+)$", data, re.M)
        assert m, data
        got.append(int(m.group(1)))
    return got


def test_one_worker_serves_many_deliveries(yubin):
    mta = Mta(yubin)
    mta.user(USER)
    mta.start()
    box = mta.maildir(USER)
    count = 20
    for i in range(count):
        # one at a time: each delivery finds the worker idle again
        mta.inject(message(i), [USER])
        mta.wait_messages(box, i + 1)
    found = mta.messages(box)
    assert sorted(numbers(mta, box)) == list(range(count))
    by_number = {int(re.search(rb"pool (\d+)", d).group(1)): d
                 for _, d in found}
    for i in range(count):
        assert by_number[i] == expected(message(i), "sender@example.net",
                                        USER)
    log = yubin.log()
    pids = started_workers(log)
    # without the pool there would be none; with it, one serves them all
    assert 1 <= len(pids) <= 2, log
    local = local_main(yubin)
    assert pids[-1] in children(local), (pids, children(local))
    if IS_ROOT:
        assert proc_uid(pids[-1]) == vmail_owner()[0]
    # an idle worker holds no queue file and no qmgr connection
    fd_dir = f"/proc/{pids[-1]}/fd"
    targets = [os.readlink(os.path.join(fd_dir, fd))
               for fd in os.listdir(fd_dir)]
    assert not [t for t in targets if t.startswith(yubin.spool)], targets
    assert "malformed" not in log and "ended" not in log, log


def written_by(mta, box):
    """pids of the processes that wrote the messages in box (the P part
    of a Maildir file name)"""
    return [int(re.search(r"\.M\d+P(\d+)Q", name).group(1))
            for name, _ in mta.messages(box)]


def test_burst_waits_for_pooled_workers(yubin):
    mta = Mta(yubin)
    mta.user(USER)
    mta.start()
    box = mta.maildir(USER)
    count = 3 * PER_OWNER
    # queued without a notice, then all at once: qmgr hands local more
    # requests than the owner has pooled workers
    for i in range(count - 1):
        mta.inject(message(i), [USER], notify=False)
    mta.inject(message(count - 1), [USER])
    assert wait_for(lambda: len(numbers(mta, box)) >= count, 60), (
        numbers(mta, box), yubin.log())
    assert sorted(numbers(mta, box)) == list(range(count))
    log = yubin.log()
    pooled = set(started_workers(log))
    writers = written_by(mta, box)
    assert len(writers) == count
    # every delivery was a pooled worker's: none was forked for itself
    assert set(writers) <= pooled, (writers, pooled)
    assert 1 <= len(pooled) <= PER_OWNER, log


def test_killed_workers_lose_nothing(yubin):
    mta = Mta(yubin)
    mta.user(USER)
    mta.start()
    box = mta.maildir(USER)
    count, killed = 40, set()
    local = local_main(yubin)
    for i in range(count):
        mta.inject(message(i), [USER])
        if i % 8 == 4:
            # the stream is still arriving: kill every worker there is,
            # busy or idle, once one exists (only local's live children:
            # a reaped worker's pid may belong to someone else by now)
            assert wait_for(lambda: started_workers(yubin.log()), 10), \
                yubin.log()
            live = children(local)
            for pid in set(started_workers(yubin.log())) - killed:
                if pid in live:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
    kills = len(killed)
    # killed requests are deferred and retried (backoff 1-2 s)
    assert wait_for(lambda: len(set(numbers(mta, box))) >= count, 60), (
        sorted(set(numbers(mta, box))), yubin.log())
    got = numbers(mta, box)
    assert sorted(set(got)) == list(range(count))
    # a duplicate needs a kill between the Maildir rename and the D mark
    assert len(got) - count <= kills, (sorted(got), kills)
    assert wait_for(lambda: not mta.queue_ids(), 30), mta.queue_ids()
    log = yubin.log()
    pids = started_workers(log)
    assert kills >= 1 and len(set(pids)) > 1, log
    # every killed worker was reaped and logged
    for pid in killed:
        assert wait_for(lambda: re.search(
            rf"delivery worker {pid} for uid \d+ ended", yubin.log()), 10), \
            (pid, yubin.log())
