#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""barn_worker.py - the barn example service's worker in Python.

It behaves exactly like the C barn (examples/barn/c/barn.c): the same
routes, messages, errors, validation and spider progress.  Animals are
JSON files, <state_dir>/animals/<name>.json:
  GET    /python/barn/v1/animal          -> {"animals": [names]}           (sync)
  GET    /python/barn/v1/animal/<name>   -> the animal, or 404             (sync)
  PUT    /python/barn/v1/animal/<name>   -> create or replace it           (async)
  POST   /python/barn/v1/animal          -> create under a generated name  (async)
  POST   /python/barn/v1/animal/<name>   -> update some fields, or 404     (async)
  DELETE /python/barn/v1/animal/<name>   -> remove it, or 404              (async)
The handlers are do_<method>_<component>_animal_v1 with the component of the
config (examples/barn/conf/barnpython.conf: "barnpython").  The worker also
serves the barn's orchestration handlers (farmwork.py, beside this file:
chores, families, litters, alarms, mules, fields, agents), as the C barn does.

    barn_worker.py --config FILE [--max-requests N] [--log-file F] [--log-level L]
"""

import argparse
import errno
import os
import re
import signal
import sys
import tempfile
import time

import gearbox
from farmwork import Farmwork

NAME_MAX_LEN = 64
DEFAULT_SPECIES = "Sus domestica"
SPIDER_SPECIES = "Araneus cavaticus"
WORDS = ("SOME PIG", "TERRIFIC", "RADIANT", "HUMBLE")
NAME_CHARS = re.compile(r"[A-Za-z0-9._-]*\Z")


# ---- storage ------------------------------------------------------------------

def check_name(name):
    """Names become file names: [A-Za-z0-9._-], not starting with a dot, at
    most NAME_MAX_LEN characters; so no name can leave the animals directory."""
    if not name:
        raise gearbox.ERR_BAD_REQUEST("the URL must name the animal: /barn/v1/animal/<name>")
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX_LEN:
        raise gearbox.ERR_BAD_REQUEST("invalid animal name: longer than %d characters" % NAME_MAX_LEN)
    if name.startswith("."):
        raise gearbox.ERR_BAD_REQUEST('invalid animal name "%s": it may not start with a dot' % name)
    if not NAME_CHARS.match(name):
        raise gearbox.ERR_BAD_REQUEST(
            'invalid animal name "%s": only letters, digits, \'.\', \'_\' and \'-\' are allowed' % name)


class Barn(Farmwork, gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        cfg = self.cfg()
        state_dir = cfg.get_path("barn.state_dir", "state/barn")
        self.web_seconds = cfg.get_real("barn.web_seconds", 4.0)
        self.animals_dir = os.path.join(state_dir, "animals")
        os.makedirs(self.animals_dir, mode=0o755, exist_ok=True)
        component = cfg.get_string("component", "barnpython")
        for method in ("get", "put", "post", "delete"):
            self.register_handler("do_%s_%s_animal_v1" % (method, component),
                                  getattr(self, "do_%s_animal" % method))
        self.register_farmwork(component)

    def animal_path(self, name):
        return os.path.join(self.animals_dir, name + ".json")

    def read_animal_text(self, name):
        path = self.animal_path(name)
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise gearbox.ERR_NOT_FOUND('animal "%s" not found' % name) from None
        except OSError as e:
            raise gearbox.ERR_INTERNAL_SERVER_ERROR("%s: %s" % (path, os.strerror(e.errno))) from None

    def read_animal(self, name):
        text = self.read_animal_text(name)
        try:
            return gearbox.parse_json(text)
        except gearbox.GearboxError as e:
            raise gearbox.ERR_INTERNAL_SERVER_ERROR(
                'stored animal "%s" is damaged: %s' % (name, e.message)) from None

    def write_animal(self, name, animal):
        """Atomically: a temporary file in the same directory, flushed, then
        renamed over the old one."""
        path = self.animal_path(name)
        text = gearbox.dump_json(animal).encode("utf-8", "surrogateescape")
        fd, tmp = tempfile.mkstemp(prefix=".%s.json." % name, dir=self.animals_dir)
        try:
            try:
                view = memoryview(text)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, 0o644)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
        except OSError as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise gearbox.ERR_INTERNAL_SERVER_ERROR("cannot write %s: %s" % (path, os.strerror(e.errno))) from None

    def list_animals(self):
        try:
            files = os.listdir(self.animals_dir)
        except OSError as e:
            raise gearbox.ERR_INTERNAL_SERVER_ERROR(
                "cannot read %s: %s" % (self.animals_dir, os.strerror(e.errno))) from None
        names = [f[:-5] for f in files if not f.startswith(".") and len(f) > 5 and f.endswith(".json")]
        # In byte order, as the C barn's strcmp.
        names.sort(key=lambda n: n.encode("utf-8", "surrogateescape"))
        return {"animals": names}

    # ---- helpers for handlers -------------------------------------------------

    @staticmethod
    def animal_name(job):
        """The resource name (the gateway sets the generated one for POST
        without a name), else the first argument."""
        name = job.resource_name()
        if name:
            return name
        args = job.arguments()
        return args[0] if args else None

    @staticmethod
    def body_object(job):
        body = job.json_content()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise gearbox.ERR_BAD_REQUEST("the body must be a JSON object describing the animal")
        return body

    @staticmethod
    def note(job, message):
        status = job.status()
        if status is None:
            return
        try:
            status.add_message(message)
        except gearbox.GearboxError as e:
            gearbox.log(gearbox.LOG_WARN, 'cannot add message "%s": %s' % (message, e.message))

    @staticmethod
    def progress(job, percent):
        status = job.status()
        if status is None:
            return
        try:
            status.progress(percent)
        except gearbox.GearboxError as e:
            gearbox.log(gearbox.LOG_WARN, "cannot set progress %d: %s" % (percent, e.message))

    def put_to_work(self, job, animal, name_id):
        name = animal.get("name")
        if not isinstance(name, str):
            name = name_id
        species = animal.get("species")
        if species != SPIDER_SPECIES:
            self.note(job, "%s is happily rolling around in the mud!" % name)
            return
        self.progress(job, 10)
        self.note(job, "%s is beginning to spin a web." % name)
        if self.web_seconds > 0:
            time.sleep(self.web_seconds / 2)
        self.progress(job, 50)
        self.note(job, "%s is still spinning..." % name)
        if self.web_seconds > 0:
            time.sleep(self.web_seconds / 2)
        self.note(job, "%s's web is complete! It says: '%s'" % (name, WORDS[int(time.time()) % len(WORDS)]))

    @staticmethod
    def answer_json(resp, text):
        resp.content(text)
        resp.add_header("Content-Type", "application/json")
        return gearbox.WORKER_SUCCESS

    # ---- handlers -------------------------------------------------------------

    def do_get_animal(self, job, resp):
        if not job.arguments():
            return self.answer_json(resp, gearbox.dump_json(self.list_animals()))
        name = self.animal_name(job)
        check_name(name)
        return self.answer_json(resp, self.read_animal_text(name))

    def do_put_animal(self, job, resp):
        """Creates the animal, or replaces it whole."""
        name = self.animal_name(job) if job.arguments() else None
        check_name(name)
        animal = self.body_object(job)
        existed = os.path.exists(self.animal_path(name))
        self.write_animal(name, animal)
        self.note(job, 'animal "%s" %s' % (name, "replaced" if existed else "created"))
        self.put_to_work(job, animal, name)
        return self.answer_json(resp, gearbox.dump_json(animal))

    def do_post_animal(self, job, resp):
        """Without a name: creates under the generated name (a pig unless told
        otherwise).  With a name: updates the given fields of an existing
        animal (its name cannot change)."""
        name = self.animal_name(job)
        check_name(name)
        body = self.body_object(job)
        operation = job.operation()
        create = operation == "create" if operation else not job.arguments()
        if create:
            animal = body
            animal.setdefault("species", DEFAULT_SPECIES)
        else:
            animal = self.read_animal(name)
            old_name, new_name = animal.get("name"), body.get("name")
            if isinstance(old_name, str) and isinstance(new_name, str) and old_name != new_name:
                raise gearbox.ERR_BAD_REQUEST('the name of animal "%s" cannot change' % name)
            animal.update(body)
        self.write_animal(name, animal)
        self.note(job, 'animal "%s" %s' % (name, "created" if create else "updated"))
        self.put_to_work(job, animal, name)
        return self.answer_json(resp, gearbox.dump_json(animal))

    def do_delete_animal(self, job, resp):
        name = self.animal_name(job) if job.arguments() else None
        check_name(name)
        path = self.animal_path(name)
        try:
            os.unlink(path)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise gearbox.ERR_NOT_FOUND('animal "%s" not found' % name) from None
            raise gearbox.ERR_INTERNAL_SERVER_ERROR("cannot delete %s: %s" % (path, os.strerror(e.errno))) from None
        self.note(job, 'animal "%s" deleted' % name)
        return gearbox.WORKER_SUCCESS


# ---- program ------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="barn_worker.py",
        description="Serves the barn example service in Python (do_{get,put,post,delete}_<component>_animal_v1) "
                    "and its orchestration handlers (chore, family, litter, alarm, mule, field, agents).",
        epilog="SIGTERM or SIGINT stops the worker after the current job.")
    parser.add_argument("--config", required=True, metavar="FILE",
                        help="the component config (e.g. examples/barn/conf/barnpython.conf)")
    parser.add_argument("--max-requests", type=int, default=0, metavar="N",
                        help="exit after N jobs (default: never)")
    parser.add_argument("--log-file", metavar="F", help="append the log to F (default: stderr)")
    parser.add_argument("--log-level", metavar="L", default="info",
                        help="debug, info (default), warn or error")
    args = parser.parse_args(argv)
    if args.max_requests < 0:
        parser.error("--max-requests needs a number >= 0")
    try:
        gearbox.log_to_file(args.log_file)
        gearbox.set_log_level(args.log_level)
    except (gearbox.GearboxError, ValueError) as e:
        print("barn_worker.py: %s" % e, file=sys.stderr)
        return 2

    try:
        worker = Barn(args.config)
    except (gearbox.GearboxError, OSError) as e:
        gearbox.log(gearbox.LOG_ERROR, "barn: %s" % e)
        return 1
    worker.max_requests(args.max_requests)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: worker.stop())
    gearbox.log(gearbox.LOG_INFO, "barn: animals in %s" % worker.animals_dir)
    try:
        worker.run()
    except gearbox.GearboxError as e:
        gearbox.log(gearbox.LOG_ERROR, "barn: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
