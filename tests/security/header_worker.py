#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""A worker of the hostile-input suites, component "hdr": its one handler,
GET <prefix>/v1/headers/x, answers with the headers a careless or hostile
worker might set (a cookie, a framing header, a hop-by-hop one), so that the
suite can check what reaches the client.

Usage: header_worker.py CONFIG   (SIGTERM stops it)
"""
import signal
import sys

import gearbox

HEADERS = {
    "X-Good": "kept",
    "Set-Cookie": "session=from-the-worker; HttpOnly",
    "Content-Length": "99999",
    "Proxy-Authenticate": "Basic realm=x",
}


class HeaderWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_get_hdr_headers_v1")

    def do_get_hdr_headers_v1(self, job, resp):
        for name, value in HEADERS.items():
            resp.add_header(name, value)
        resp.content('{"ok": true}')
        return gearbox.WORKER_SUCCESS


worker = HeaderWorker(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: worker.stop())
worker.run()
