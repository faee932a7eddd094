"""A run worker to kill: executes a one-op job that sleeps, created the way the command line creates
its runs (launch.execute_in_this_process: the `leadloop` location's origin, the worker tags).

`python -m tests.orchestration.sleeping_worker SECONDS` runs it against DAGSTER_HOME. The op holds
the one slot of POOL, as a source's load holds its `<source>_api` pool slot during a night.
"""

# No `from __future__ import annotations`: Dagster reads the op's `context` annotation at runtime.

import sys
import time

import dagster as dg

JOB_NAME = "sleeping_night"
POOL = "leadloop_test_pool"


@dg.op(pool=POOL, config_schema={"seconds": float})
def sleep(context: dg.OpExecutionContext) -> None:
    """Stands for a long load: sleeps in its pool slot."""
    time.sleep(context.op_config["seconds"])


@dg.job(name=JOB_NAME, executor_def=dg.in_process_executor)
def sleeping_night() -> None:
    sleep()


def run_sleeping_night(instance: dg.DagsterInstance, seconds: float):
    """Create and execute one run of the job in this process, as the command line does."""
    from leadloop.orchestration.launch import execute_in_this_process, remote_job_origin

    return execute_in_this_process(dg.reconstructable(sleeping_night), instance, remote_job_origin(JOB_NAME),
                                   run_config={"ops": {"sleep": {"config": {"seconds": seconds}}}})


if __name__ == "__main__":
    with dg.DagsterInstance.get() as own_instance:
        own_instance.event_log_storage.set_concurrency_slots(POOL, 1)
        result = run_sleeping_night(own_instance, float(sys.argv[1]))
    sys.exit(0 if result.success else 1)
