#!/usr/bin/env python3
"""Server memory per idle TLS connection, with and without COMPRESS=DEFLATE, in one run.

Usage: bench/compress_memory.py --port IMAPS_PORT --cafile CERT --server-pid PID
                                [--connections 1000] [--users 10] [--password PW] [--settle 7]

Users are user1..userN with one password; each has a message in INBOX. Two phases against
the same running server: first `--connections` plain TLS sessions (LOGIN, SELECT INBOX,
FETCH 1 BODY[], IDLE), then as many compressed ones (the same after `COMPRESS DEFLATE`,
zlib raw DEFLATE with a 32 KiB window, as real clients do). Each phase opens its connections
in two halves and reads the server's memory after each; the growth over the second half,
divided by its number of connections, is the marginal cost of one connection (as
`roost-bench idle` does). The settle time before each reading exceeds the 5 s after which a
quiet connection gives its deflater back, so the figures are for idle connections. Prints
one JSON object. Only loopback addresses are used; every connection is closed at the end.
"""

import argparse
import json
import socket
import ssl
import sys
import time
import zlib


def memory(pid):
    """RSS and PSS of the server process, in KiB."""
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return {"rss_kib": rss, "pss_kib": pss}


class Conn:
    """One blocking IMAP connection over TLS, optionally with a DEFLATE layer."""

    def __init__(self, port, context):
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")
        self.buf = bytearray()
        self.deflate = None
        self.inflate = None
        self.tag = 0
        self.line()  # greeting

    def send(self, data):
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += self.inflate.decompress(chunk) if self.inflate else chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.more()
        end = self.buf.index(b"\r\n") + 2
        line = bytes(self.buf[:end])
        del self.buf[:end]
        return line

    def command(self, text):
        self.tag += 1
        tag = f"t{self.tag}".encode()
        self.send(tag + b" " + text.encode() + b"\r\n")
        # (APPEND's text carries its LITERAL+ data, which ends in CRLF too.)
        while True:
            line = self.line()
            if line.endswith(b"}\r\n"):
                size = int(line[line.rindex(b"{") + 1 : -3])
                while len(self.buf) < size:
                    self.more()
                del self.buf[:size]
                continue
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text}: {line!r}")
                return

    def start(self, user, password, compress, upload, name):
        self.command(f'LOGIN {user} "{password}"')
        if compress:
            self.command("COMPRESS DEFLATE")
            self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self.inflate = zlib.decompressobj(-15)
        if upload:
            # Fills the server's inflater window (the client's 32 KiB history), in a mailbox
            # of this connection's own so that no IDLE is woken.
            self.command(f"CREATE {name}")
            self.command(f"APPEND {name} {{{len(upload)}+}}\r\n" + upload)
        self.command("SELECT INBOX")
        self.command("FETCH 1 (BODY[])")
        self.send(b"i IDLE\r\n")
        if not self.line().startswith(b"+ "):
            raise RuntimeError("IDLE was not accepted")


def upload_message(size):
    """A text message of about `size` octets whose lines differ (so it does not compress to
    nothing and the client's deflater refers back across its whole window)."""
    lines = ["Subject: upload", ""]
    n = 0
    while sum(len(l) + 2 for l in lines) < size:
        n += 1
        lines.append(f"line {n} of the upload, {n * 7919 % 100003} {n * 104729 % 65521}")
    return "\r\n".join(lines) + "\r\n"


def phase(args, context, compress, label, keep):
    """Opens the phase's connections and leaves them open (in `keep`) while later phases
    measure, so no phase reuses memory another one freed."""
    conns = []
    half = args.connections // 2
    readings = []
    upload = upload_message(args.upload) if args.upload else None
    for count in (half, args.connections):
        while len(conns) < count:
            n = len(conns)
            conn = Conn(args.port, context)
            name = f"{label}{n}"
            conn.start(f"user{n % args.users + 1}", args.password, compress, upload, name)
            conns.append(conn)
        time.sleep(args.settle)
        readings.append(memory(args.server_pid))
    second = args.connections - half
    result = {
        "connections": len(conns),
        "half": readings[0],
        "loaded": readings[1],
        "rss_per_conn_kib": round((readings[1]["rss_kib"] - readings[0]["rss_kib"]) / second, 2),
        "pss_per_conn_kib": round((readings[1]["pss_kib"] - readings[0]["pss_kib"]) / second, 2),
    }
    keep.extend(conns)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cafile", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--password", default="bench")
    parser.add_argument("--settle", type=float, default=7.0)
    parser.add_argument(
        "--upload",
        type=int,
        default=0,
        help="octets each connection APPENDs before it idles (0: none)",
    )
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.cafile)
    keep = []
    report = {"connections_per_phase": args.connections, "upload": args.upload}
    report["before"] = memory(args.server_pid)
    report["tls"] = phase(args, context, False, "p", keep)
    report["tls_compress"] = phase(args, context, True, "z", keep)
    report["compress_extra_rss_per_conn_kib"] = round(
        report["tls_compress"]["rss_per_conn_kib"] - report["tls"]["rss_per_conn_kib"], 2
    )
    json.dump(report, sys.stdout, indent=2)
    print()
    for conn in keep:
        conn.sock.close()


if __name__ == "__main__":
    main()
