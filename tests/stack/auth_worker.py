# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""auth_worker.py --config CONF - the "vault" component of test_auth.py: it
shows what a worker receives.

  GET  /vault/v1/envelope/<x>  -> the job's envelope, as the answer
  PUT  /vault/v1/envelope/<x>  -> the job's envelope, in the status's meta
  POST /vault/v1/child/<x>     -> starts a PUT envelope job: a child status
"""

import argparse
import json

import gearbox


class VaultWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_get_vault_envelope_v1")
        self.register_handler("do_put_vault_envelope_v1")
        self.register_handler("do_post_vault_child_v1")

    def do_get_vault_envelope_v1(self, job, resp):
        envelope = job.envelope()
        envelope["accessors"] = {"remote_user": job.remote_user(), "remote_scopes": job.remote_scopes()}
        resp.content(json.dumps(envelope))
        return gearbox.WORKER_SUCCESS

    def do_put_vault_envelope_v1(self, job, resp):
        resp.status().meta("envelope", json.dumps(job.envelope()))
        return gearbox.WORKER_SUCCESS

    def do_post_vault_child_v1(self, job, resp):
        jm = self.job_manager()
        jm.run(jm.job("do_put_vault_envelope_v1"))
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with VaultWorker(args.config) as worker:
        worker.run()


if __name__ == "__main__":
    main()
