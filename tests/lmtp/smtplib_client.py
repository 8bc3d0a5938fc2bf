#!/usr/bin/env python3
"""LMTP conversations with Python's smtplib.LMTP against a running Roost (tests/e2e/lmtp.rs).

Usage: smtplib_client.py HOST PORT SCENARIO
Each scenario asserts the replies it gets and exits non-zero on the first surprise.
"""
import smtplib
import socket
import sys


def message(n, message_id=None):
    mid = message_id or f"<lmtp-{n}@test.example>"
    return (
        f"From: sender@test.example\r\nTo: alice@test.example\r\nSubject: LMTP {n}\r\n"
        f"Message-ID: {mid}\r\n\r\nBody of message {n}.\r\n.leading dot line\r\n"
    ).encode()


def connect(host, port):
    lmtp = smtplib.LMTP(host, int(port), timeout=30)
    code, _ = lmtp.ehlo("mx.test.example")  # smtplib.LMTP sends LHLO
    assert code == 250, code
    for ext in ("pipelining", "enhancedstatuscodes", "8bitmime", "smtputf8", "chunking", "size"):
        assert lmtp.has_extn(ext), (ext, lmtp.esmtp_features)
    return lmtp


def expect(reply, code, status=None):
    got_code, text = reply
    text = text.decode() if isinstance(text, bytes) else text
    assert got_code == code, (code, status, got_code, text)
    if status:
        assert text.startswith(status), (status, text)


def deliver(host, port):
    """Two recipients (one with +detail) and an unknown one: one reply per accepted recipient."""
    lmtp = connect(host, port)
    expect(lmtp.docmd("MAIL FROM:<sender@test.example>"), 250, "2.1.0")
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 250, "2.1.5")
    expect(lmtp.docmd("RCPT TO:<nobody@test.example>"), 550, "5.1.1")
    expect(lmtp.docmd("RCPT TO:<alice+lists@test.example>"), 250, "2.1.5")
    # smtplib's data() reads the first recipient's reply; LMTP sends one more per recipient.
    expect(lmtp.data(message(1)), 250, "2.0.0")
    expect(lmtp.getreply(), 250, "2.0.0")
    lmtp.quit()


def codes(host, port):
    """Every refusal code the server gives before a message is stored."""
    lmtp = connect(host, port)
    expect(lmtp.docmd("DATA"), 503, "5.5.1")
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 503, "5.5.1")
    expect(lmtp.docmd("FROB"), 500, "5.5.1")
    expect(lmtp.docmd("MAIL FROM:alice"), 501, "5.5.4")
    expect(lmtp.docmd("MAIL FROM:<a@test.example> XFOO=1"), 555, "5.5.4")
    expect(lmtp.docmd("MAIL FROM:<a@test.example> SIZE=999999999999"), 552, "5.3.4")
    expect(lmtp.docmd("EHLO x"), 500, "5.5.1")
    expect(lmtp.docmd("MAIL FROM:<a@test.example> SIZE=100"), 250, "2.1.0")
    expect(lmtp.docmd("MAIL FROM:<a@test.example>"), 503, "5.5.1")
    expect(lmtp.docmd("RCPT TO:<nobody@test.example>"), 550, "5.1.1")
    expect(lmtp.docmd("RCPT TO:<alice@elsewhere.example>"), 550, "5.1.2")
    expect(lmtp.docmd("DATA"), 503, "5.5.1")  # no valid recipient
    expect(lmtp.docmd("RSET"), 250, "2.0.0")
    expect(lmtp.docmd("NOOP"), 250, "2.0.0")
    expect(lmtp.docmd("VRFY alice"), 252, "2.5.2")
    expect(lmtp.docmd("X" * 5000), 500, "5.5.2")
    lmtp.quit()


def too_many_recipients(host, port):
    lmtp = connect(host, port)
    expect(lmtp.docmd("MAIL FROM:<a@test.example>"), 250)
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 250)
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 250)
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 452, "4.5.3")  # max_recipients = 2
    lmtp.quit()


def oversized(host, port):
    """A message past SIZE without a SIZE parameter: read to the end, then 552 per recipient."""
    lmtp = connect(host, port)
    limit = int(lmtp.esmtp_features["size"])
    expect(lmtp.docmd("MAIL FROM:<a@test.example>"), 250)
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 250)
    expect(lmtp.docmd("DATA"), 354)
    line = b"x" * 998 + b"\r\n"
    sock = lmtp.sock
    sent = 0
    while sent <= limit:
        sock.sendall(line * 1000)
        sent += len(line) * 1000
    sock.sendall(b".\r\n")
    expect(lmtp.getreply(), 552, "5.3.4")
    expect(lmtp.docmd("NOOP"), 250)  # the connection is still in step
    lmtp.quit()


def pipelined(host, port):
    """Three transactions written at once, then every reply read in order."""
    sock = socket.create_connection((host, int(port)), timeout=30)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220 ")
    batch = b"LHLO mx.test.example\r\n"
    for n in range(10, 13):
        body = message(n).replace(b"\r\n.", b"\r\n..")
        batch += b"MAIL FROM:<s@test.example>\r\nRCPT TO:<alice@test.example>\r\nDATA\r\n"
        batch += body + b".\r\n"
    batch += b"QUIT\r\n"
    sock.sendall(batch)
    lines = [line.decode().rstrip("\r\n") for line in f]
    replies = [l for l in lines if not l.startswith("250-")]
    want = ["250"] + ["250", "250", "354", "250"] * 3 + ["221"]
    assert [r[:3] for r in replies] == want, lines
    sock.close()


def bdat(host, port):
    """CHUNKING: a message in two BDAT chunks, binary-clean (no dot-stuffing)."""
    lmtp = connect(host, port)
    expect(lmtp.docmd("MAIL FROM:<s@test.example> BODY=8BITMIME"), 250)
    expect(lmtp.docmd("RCPT TO:<alice@test.example>"), 250)
    body = message(20)
    first, second = body[:40], body[40:]
    lmtp.send(b"BDAT %d\r\n" % len(first) + first)
    expect(lmtp.getreply(), 250, "2.0.0")
    lmtp.send(b"BDAT %d LAST\r\n" % len(second) + second)
    expect(lmtp.getreply(), 250, "2.0.0")
    # BDAT with no transaction: the chunk is read and refused, and the stream stays in step.
    lmtp.send(b"BDAT 5 LAST\r\nhello")
    expect(lmtp.getreply(), 503, "5.5.1")
    expect(lmtp.docmd("NOOP"), 250)
    lmtp.quit()


def duplicate(host, port):
    """The same Message-ID to the same user twice: delivered once, both answered 250."""
    for _ in range(2):
        lmtp = connect(host, port)
        refused = lmtp.sendmail("s@test.example", ["alice@test.example"], message(30, "<dup@test.example>"))
        assert refused == {}, refused
        lmtp.quit()


SCENARIOS = {f.__name__: f for f in (deliver, codes, too_many_recipients, oversized, pipelined, bdat, duplicate)}

if __name__ == "__main__":
    host, port, scenario = sys.argv[1:4]
    SCENARIOS[scenario](host, port)
    print(f"{scenario}: ok")
