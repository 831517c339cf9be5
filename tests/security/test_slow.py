# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""Slow and idle connections (slowloris): a connection that has not sent a
complete request within limits.request_timeout (2 s here) of opening, or of
its previous answer, is dropped; connections beyond the per-address limit
are refused; a polite client from another address is served throughout."""

import errno
import select
import time

from conftest import ATTACKER, BOUND, REQUEST_TIMEOUT, check_json_error, closed_by_peer, wait_for

SLOW = 2000


def open_slow(sec, n):
    """n connections from the attacker's address that have sent part of a
    head; those the gateway refused at once may already be closed."""
    socks = []
    for i in range(n):
        s = sec.raw.connect(source=ATTACKER, timeout=BOUND)
        try:
            s.sendall(b"GET /barn/v1/status HTTP/1.1\r\nHost: x\r\n")
        except OSError as e:
            if e.errno not in (errno.ECONNRESET, errno.EPIPE):
                raise
        socks.append(s)
    return socks


def trickle_until_dropped(socks, bound):
    """Sends one more header line every half second on every connection the
    gateway still holds, until it has closed them all; returns the seconds
    that took."""
    start = time.monotonic()
    open_ = list(socks)
    next_byte = start
    while open_:
        assert time.monotonic() - start < bound, "%d slow connections still open" % len(open_)
        poller = select.poll()
        by_fd = {s.fileno(): s for s in open_}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(100):
            if closed_by_peer(by_fd[fd]):
                open_.remove(by_fd[fd])
        if time.monotonic() >= next_byte:
            next_byte += 0.5
            for s in list(open_):
                try:
                    s.setblocking(True)
                    s.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    open_.remove(s)
    return time.monotonic() - start


def test_two_thousand_slow_connections(sec, polite):
    rss_before = sec.rss_kib()

    def attack():
        socks = open_slow(sec, SLOW)
        try:
            return trickle_until_dropped(socks, BOUND * 2)
        finally:
            for s in socks:
                s.close()
    took = polite.served_during(attack)
    # Every trickling connection went within a few timeouts, not when the
    # attacker chose to stop.
    assert took < REQUEST_TIMEOUT * 10, took
    sec.alive()
    assert sec.rss_kib() - rss_before < 64 * 1024, (rss_before, sec.rss_kib())
    assert not polite.failures, polite.failures[:5]


def test_idle_connection_is_dropped(sec, polite):
    s = sec.raw.connect()
    try:
        start = time.monotonic()
        wait_for(lambda: closed_by_peer(s), "the gateway to drop an idle connection", BOUND)
        assert time.monotonic() - start >= REQUEST_TIMEOUT * 0.9
    finally:
        s.close()


def test_body_shorter_than_announced_is_dropped(sec, polite):
    s = sec.raw.connect()
    try:
        s.sendall(sec.raw.request("PUT", "/barn/v1/animal/Liar", ["Content-Length: 100"], b"") + b'{"na')
        wait_for(lambda: closed_by_peer(s), "the gateway to drop a body that never comes", BOUND)
    finally:
        s.close()


def test_idle_keep_alive_is_dropped_after_its_answer(sec, polite):
    s = sec.raw.connect()
    try:
        s.sendall(sec.raw.request("GET", "/barn/v1/status;_count=1", ["Connection: keep-alive"]))
        assert sec.raw.read(s)[0] == 200
        s.sendall(sec.raw.request("GET", "/barn/v1/status;_count=1", ["Connection: keep-alive"]))
        assert sec.raw.read(s)[0] == 200
        wait_for(lambda: closed_by_peer(s), "the gateway to drop an idle keep-alive connection", BOUND)
    finally:
        s.close()


def test_slow_answer_is_not_a_slow_request(sec, polite):
    # /silo's GET has no worker: the gateway answers 504 after the
    # location's 2 s timeout, although the connection's request timeout
    # (2 s too) has passed meanwhile: the clock stops once the request is in.
    s = sec.raw.connect()
    try:
        start = time.monotonic()
        s.sendall(sec.raw.request("GET", "/silo/v1/grain/x", ["Connection: keep-alive"]))
        check_json_error(sec.raw.read(s), 504)
        assert time.monotonic() - start >= 1.5
    finally:
        s.close()
