"""Cases on a Ray cluster (``--agora-ray``): pytest stays the front end, each case's pipeline runs as one Ray
task on a node with the GPUs it asks for, and its CaseResult comes back into the same pytest item.

- ``ray_run.py``: the driver side, in each pytest process that runs cases: connect, submit a case, wait,
  cancel on Ctrl-C, the cluster's description for the header and the report, the end of the session.
- ``node_work.py``: what runs on a node: a case (``run_case`` with this node's server pool), the shared-store
  probe, the per-node generator host (an actor that keeps the generator's vllm server up for the session).

A case is one task, not one task per stage: its stages run back to back on the same GPUs (the generator has
its own, held by the node's actor), each task boundary costs a fresh worker process (Ray gives a GPU task a
new one) and a model load, and a retried task resumes its finished stages from the shared store anyway.
Ray is imported only here and only when --agora-ray is given: the extra ``pytest-agorabench[ray]``.
"""
