# SPDX-License-Identifier: BSD-3-Clause - Copyright (c) 2026 the Gearbox developers (LICENSE)
"""graph_worker.py --config CONF - a component ("graph") that uses agents but
serves no agents runner: its front handler hands the graph to
do_run_global_agents_v1 (served by gearbox-global-worker) and waits for it,
as Yahoo Gearbox's workers/test-agents did; its agents are its own handlers.

  POST /graph/v1/run  {"agents": [...], "content": {...}}
  do_agent_graph_<x>_v1: adds "<X> at progress <p>" to the runner's status
  (its parent); content {"fail": "<x>"} makes agent x fail with 409.
"""

import argparse
import json

import gearbox


class GraphWorker(gearbox.Worker):
    def __init__(self, config):
        super().__init__(config)
        self.register_handler("do_post_graph_run_v1")
        for letter in "abcd":
            self.register_handler("do_agent_graph_%s_v1" % letter, self.do_agent)

    def do_post_graph_run_v1(self, job, resp):
        body = job.json_content()
        jm = self.job_manager()
        runner = jm.job("do_run_global_agents_v1")
        runner.content(json.dumps({"agents": body["agents"], "content": body.get("content", {})}))
        st = jm.run(runner).status()
        resp.status().add_message("runner " + st.name())
        jm.wait(st)
        if not st.is_success():
            raise gearbox.error_class(st.code())(st.messages()[-1])
        resp.status().add_message("agents done")
        return gearbox.WORKER_SUCCESS

    def do_agent(self, job, resp):
        letter = job.resource_type()
        content = job.json_content()
        runner = self.job_manager().status(job.status().parent_uri())
        runner.add_message("%s at progress %d" % (letter.upper(), runner.progress()))
        if isinstance(content, dict) and content.get("fail") == letter:
            raise gearbox.ERR_CONFLICT("agent %s failed as asked" % letter.upper())
        return gearbox.WORKER_SUCCESS


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    with GraphWorker(args.config) as worker:
        worker.run()


if __name__ == "__main__":
    main()
