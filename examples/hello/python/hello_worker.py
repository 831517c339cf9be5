#!/usr/bin/python3
"""The hello service in Python (docs/first-service.md), component hellopython:

    PUT /python/hello/v1/greeting/<name> {"text": "Hello"}  async: 202 and a status to poll
    GET /python/hello/v1/greeting/<name>                    sync: 200 {"name", "greeting"}, or 404

Usage: hello_worker.py CONFIG   (SIGTERM or SIGINT stops it)
"""
import json
import os
import re
import signal
import sys

import gearbox


class HelloWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.greetings = self.cfg().get_path("hello.dir", "state/hellopython")
        os.makedirs(self.greetings, exist_ok=True)
        self.register_handler("do_put_hellopython_greeting_v1")   # the methods below
        self.register_handler("do_get_hellopython_greeting_v1")

    def greeting_file(self, job):
        """<dir>/<name>.json of the name in the URL: letters and digits only,
        so that no name leaves the directory."""
        name = job.resource_name()
        if not re.fullmatch(r"[A-Za-z0-9]{1,64}", name or ""):
            raise gearbox.ERR_BAD_REQUEST("a greeting's name is letters and digits")
        return os.path.join(self.greetings, name + ".json")

    # PUT: async, so the client gets 202 and polls the status.
    def do_put_hellopython_greeting_v1(self, job, resp):
        path = self.greeting_file(job)
        name = job.resource_name()
        body = job.json_content()                  # checked against schemas/create-hellopython-greeting-v1.js
        status = job.status()
        status.add_message("writing the greeting for %s" % name)
        status.progress(50)
        with open(path, "w") as f:
            json.dump({"name": name, "greeting": "%s, %s!" % (body["text"], name)}, f)
        status.add_message("greeting for %s saved" % name)
        return gearbox.WORKER_SUCCESS              # COMPLETED, progress 100, code 0

    # GET: sync, the answer is the HTTP response.
    def do_get_hellopython_greeting_v1(self, job, resp):
        path = self.greeting_file(job)
        try:
            with open(path) as f:
                resp.content(f.read())
        except FileNotFoundError:
            raise gearbox.ERR_NOT_FOUND("no greeting for %s" % job.resource_name()) from None   # HTTP 404
        resp.add_header("Content-Type", "application/json")
        return gearbox.WORKER_SUCCESS              # HTTP 200


if len(sys.argv) != 2:
    sys.exit("usage: hello_worker.py CONFIG")
gearbox.log_to_file()                              # the library logs nothing until told where to
worker = HelloWorker(sys.argv[1])
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: worker.stop())
worker.run()
