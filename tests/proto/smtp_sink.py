"""A loopback SMTP server for the outbound tests, standard library only.

SmtpSink(host, port, ...) runs a threaded server that records every
transaction (sender, recipients, data, whether TLS and AUTH were used)
and can be told to misbehave: a reply chosen per recipient, a
temporary failure for the first N transactions, a connection dropped
in the middle of DATA, a server that never answers, a greeting other
than 220 (then it hangs up), STARTTLS with a given certificate, AUTH
PLAIN against a fixed user and password, a SIZE limit, no PIPELINING.
For the connection tests it counts connections, sessions open at once
(max_active), transactions waiting for the reply to their end of DATA at
once (max_held) and QUITs, records when each connection came and went
(spans, time.monotonic()), can leave 8BITMIME out of its EHLO reply
(eightbitmime=False), can break every TLS handshake after its 220
to STARTTLS (tls_broken), can hold every session before its reply to
the end of DATA until a gate opens (hold), answer it after a delay
(reply_delay), greet after a delay (greet_delay), hang up after each
transaction (hangup_after_tx) or on a command of a connection's later
transaction (hangup_on = "RSET" or "MAIL"). Every socket has a timeout,
so a stuck client cannot hang a test.
"""
import base64
import socket
import socketserver
import ssl
import threading
import time

import pytest


class Transaction:
    def __init__(self):
        self.mail_from = None
        self.mail_params = ""
        self.rcpts = []
        self.data = b""
        self.tls = False
        self.auth = None
        self.helo = None


class _Handler(socketserver.StreamRequestHandler):
    timeout = 20

    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(65536)
        if not line:
            raise EOFError
        return line.rstrip(b"\r\n").decode("utf-8", "replace")

    def handle(self):
        sink = self.server.sink
        start = time.monotonic()
        # replies go out as written, as a server that batches its
        # pipelined replies would have them arrive
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with sink.lock:
            sink.connections += 1
            sink.active += 1
            sink.max_active = max(sink.max_active, sink.active)
        try:
            self.serve(sink)
        finally:
            with sink.lock:
                sink.spans.append((start, time.monotonic()))
                sink.active -= 1

    def serve(self, sink):
        if sink.silent:
            # accept, then never say a word until the client gives up
            try:
                self.request.recv(1)
            except OSError:
                pass
            return
        try:
            self.session(sink)
        except (EOFError, OSError, ssl.SSLError):
            pass

    def session(self, sink):
        tls = False
        auth = None
        helo = None
        tx = None
        done = 0                # transactions on this connection
        if sink.greet_delay:
            time.sleep(sink.greet_delay)
        self.send(sink.greeting)
        if not sink.greeting.startswith("2"):
            return
        while True:
            line = self.readline()
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            sink.commands.append(line)
            if done and sink.hangup_on == verb:
                raise EOFError          # gone without a word
            if verb == "EHLO":
                helo = arg
                ext = ["sink.test"]
                if sink.pipelining:
                    ext.append("PIPELINING")
                ext.append("SIZE %d" % sink.size)
                if sink.eightbitmime:
                    ext.append("8BITMIME")
                if sink.cert and not tls:
                    ext.append("STARTTLS")
                if sink.auth_user and (tls or not sink.cert):
                    ext.append("AUTH PLAIN LOGIN")
                for e in ext[:-1]:
                    self.send("250-" + e)
                self.send("250 " + ext[-1])
            elif verb == "HELO":
                helo = arg
                self.send("250 sink.test")
            elif verb == "STARTTLS" and sink.cert and not tls:
                self.send("220 2.0.0 ready")
                if sink.tls_broken:
                    # no TLS server after all: the handshake fails
                    self.send("this is not TLS")
                    return
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(sink.cert, sink.key)
                self.request = ctx.wrap_socket(self.request,
                                               server_side=True)
                self.rfile = self.request.makefile("rb")
                self.wfile = self.request.makefile("wb")
                tls = True
                helo = None
            elif verb == "AUTH":
                parts = arg.split()
                if parts and parts[0].upper() == "PLAIN":
                    resp = parts[1] if len(parts) > 1 else None
                    if resp is None:
                        self.send("334 ")
                        resp = self.readline()
                    try:
                        _, user, pw = base64.b64decode(resp).split(b"\0")
                    except Exception:
                        user = pw = None
                    if (user, pw) == (sink.auth_user.encode(),
                                      sink.auth_pass.encode()):
                        auth = user.decode()
                        self.send("235 2.7.0 Authentication successful")
                    else:
                        self.send("535 5.7.8 Authentication failed")
                else:
                    self.send("504 5.5.4 mechanism not supported")
            elif verb == "MAIL":
                if sink.auth_user and auth is None:
                    self.send("530 5.7.0 Authentication required")
                    continue
                tx = Transaction()
                tx.tls, tx.auth, tx.helo = tls, auth, helo
                addr, _, params = arg[5:].partition(">")
                tx.mail_from = addr.strip().lstrip("<")
                tx.mail_params = params.strip()
                with sink.lock:
                    sink.attempts += 1
                    attempt = sink.attempts
                if attempt <= sink.tempfail_first:
                    tx = None
                    self.send("451 4.3.0 try again later")
                else:
                    self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if tx is None:
                    self.send("503 5.5.1 need MAIL")
                    continue
                addr = arg[3:].strip().lstrip("<").split(">")[0]
                reply = sink.rcpt_reply(addr)
                if reply.startswith("2"):
                    tx.rcpts.append(addr)
                self.send(reply)
            elif verb == "DATA":
                if tx is None or not tx.rcpts:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                data = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if not raw:
                        raise EOFError
                    if raw == b".\r\n":
                        break
                    if sink.drop_in_data:
                        self.request.close()
                        raise EOFError
                    data.append(raw[1:] if raw.startswith(b"..") else raw)
                tx.data = b"".join(data)
                # a slow or held server: the message counts as received
                # only when it is answered, as a server commits it first
                with sink.lock:
                    sink.held += 1
                    sink.max_held = max(sink.max_held, sink.held)
                try:
                    if sink.hold is not None:
                        sink.hold.wait(30)
                    if sink.reply_delay:
                        time.sleep(sink.reply_delay)
                finally:
                    with sink.lock:
                        sink.held -= 1
                # committed as the reply goes out (recorded even when the
                # client is gone by then, as a server keeps what it got)
                with sink.lock:
                    n = sink.queued = sink.queued + 1
                try:
                    self.send("250 2.0.0 Ok: queued as SINK%d" % n)
                finally:
                    with sink.lock:
                        sink.messages.append(tx)
                tx = None
                done += 1
                if sink.hangup_after_tx:
                    return
            elif verb == "RSET":
                tx = None
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                with sink.lock:
                    sink.quits += 1
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 command not recognized")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    def __init__(self, host="127.0.0.1", port=0, rcpt_replies=None,
                 tempfail_first=0, drop_in_data=False, silent=False,
                 cert=None, key=None, auth=None, size=10485760,
                 pipelining=True, greeting="220 sink.test ESMTP",
                 hold=None, reply_delay=0, greet_delay=0, tls_broken=False,
                 eightbitmime=True,
                 hangup_after_tx=False, hangup_on=None):
        self.rcpt_replies = rcpt_replies or {}
        self.tempfail_first = tempfail_first
        self.drop_in_data = drop_in_data
        self.silent = silent
        self.cert, self.key = cert, key
        self.auth_user, self.auth_pass = auth if auth else (None, None)
        self.size = size
        self.pipelining = pipelining
        self.greeting = greeting
        self.spans = []
        self.tls_broken = tls_broken
        self.eightbitmime = eightbitmime
        self.hold = hold                # threading.Event, or None
        self.reply_delay = reply_delay
        self.greet_delay = greet_delay
        self.hangup_after_tx = hangup_after_tx
        self.hangup_on = hangup_on
        self.messages = []
        self.queued = 0
        self.commands = []
        self.attempts = 0
        self.connections = 0
        self.active = 0                 # sessions open now
        self.max_active = 0
        self.held = 0                   # transactions waiting for their
        self.max_held = 0               # reply to the end of DATA
        self.quits = 0
        self.lock = threading.Lock()
        self.server = _Server((host, port), _Handler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def rcpt_reply(self, addr):
        return self.rcpt_replies.get(addr.lower(), "250 2.1.5 Ok")

    def wait_messages(self, n, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return True
            time.sleep(0.05)
        return False

    def close(self):
        if self.hold is not None:
            self.hold.set()     # no session left waiting on the gate
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sinks():
    """make(**kw): a new SmtpSink; every one made is closed afterwards"""
    made = []

    def make(**kw):
        s = SmtpSink(**kw)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()
