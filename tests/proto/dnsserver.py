"""A small authoritative DNS server on loopback for the protocol tests.

Written with the Python standard library only. It answers UDP questions
from a table the test fills (A, AAAA, MX, PTR, TXT, CNAME records), says
NXDOMAIN for names it does not know and NODATA for known names without the
asked type, and can be told to answer SERVFAIL or not at all for a name,
so that a test can show that smtpd treats both as temporary. smtpd is
pointed at it with dns_servers = 127.0.0.1:PORT.

    with DnsServer() as dns:
        dns.add("mx.example.net", "A", "192.0.2.1")
        dns.ptr("127.0.0.2", "client.example.net")
        dns.servfail("broken.example")
        dns.drop("slow.example")
        ... dns.port ...
"""
import ipaddress
import socket
import struct
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16,
         "AAAA": 28}
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def decode_name(msg, off):
    """The name at off (no compression in questions); (name, next off)."""
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype in ("PTR", "CNAME", "NS"):
        return encode_name(value)
    if rtype == "MX":
        pref, host = value
        return struct.pack("!H", pref) + encode_name(host)
    if rtype == "TXT":
        parts = value if isinstance(value, (list, tuple)) else [value]
        out = b""
        for p in parts:
            raw = p.encode()
            out += bytes([len(raw)]) + raw
        return out
    raise ValueError(rtype)


def reverse_name(ip):
    return ipaddress.ip_address(ip).reverse_pointer


class DnsServer:
    def __init__(self, host="127.0.0.1"):
        self.records = {}       # (name, type) -> [value, ...]
        self.names = set()      # names that exist (for NODATA)
        self.failing = set()    # names answered SERVFAIL
        self.dropped = set()    # names never answered
        self.queries = []       # (name, type) in arrival order
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.addr = host
        self.port = self.sock.getsockname()[1]
        self.running = False
        self.thread = None

    # the table ---------------------------------------------------------
    def add(self, name, rtype, value):
        name = name.lower().rstrip(".")
        with self.lock:
            self.records.setdefault((name, rtype), []).append(value)
            self.names.add(name)

    def ptr(self, ip, name):
        self.add(reverse_name(ip), "PTR", name)

    def host(self, name, *ips):
        for ip in ips:
            self.add(name, "AAAA" if ":" in ip else "A", ip)

    def servfail(self, name):
        self.failing.add(name.lower().rstrip("."))

    def drop(self, name):
        self.dropped.add(name.lower().rstrip("."))

    def asked(self, name, rtype=None):
        """How many questions about name (of rtype) arrived."""
        name = name.lower().rstrip(".")
        with self.lock:
            return sum(1 for n, t in self.queries
                       if n == name and (rtype is None or t == rtype))

    @property
    def server(self):
        return f"{self.addr}:{self.port}"

    # serving -------------------------------------------------------------
    def answer(self, msg):
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        if qd != 1:
            return None
        name, off = decode_name(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
        question = msg[12:off + 4]
        name = name.lower()
        tname = next((k for k, v in TYPES.items() if v == qtype), str(qtype))
        with self.lock:
            self.queries.append((name, tname))
            if name in self.dropped:
                return None
            rcode = NOERROR
            answers = []
            if name in self.failing:
                rcode = SERVFAIL
            elif name not in self.names:
                rcode = NXDOMAIN
            else:
                owner = name
                cname = self.records.get((name, "CNAME"))
                if cname and tname != "CNAME":
                    answers.append((name, "CNAME", cname[0]))
                    owner = cname[0].lower().rstrip(".")
                for value in self.records.get((owner, tname), []):
                    answers.append((owner, tname, value))
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode,
                          1, len(answers), 0, 0) + question
        for owner, rtype, value in answers:
            data = rdata(rtype, value)
            out += encode_name(owner) + struct.pack(
                "!HHIH", TYPES[rtype], 1, 60, len(data)) + data
        return out

    def serve(self):
        while self.running:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            try:
                reply = self.answer(msg)
            except (ValueError, struct.error, IndexError):
                continue
            if reply is not None:
                self.sock.sendto(reply, peer)

    def start(self):
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.running = False
        if self.thread is not None:
            self.thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
