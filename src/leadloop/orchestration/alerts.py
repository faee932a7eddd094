"""Alerts: a run that fails, or finishes with failed checks, is posted to a WeCom group robot."""
# No `from __future__ import annotations`: Dagster reads the `context` annotation at runtime.

import os

import dagster as dg
import requests

WEBHOOK_ENV = "LEADLOOP_ALERT_WEBHOOK_URL"
MAX_LISTED = 15


class WecomRobotWebhook(dg.ConfigurableResource):
    """WeCom group robot webhook (JSON POST). The URL is `url` or, when empty, LEADLOOP_ALERT_WEBHOOK_URL
    read when the alert is sent; with neither, alerts are off and the sensor says so in its log."""

    url: str = ""
    timeout_seconds: float = 10.0

    def post_markdown(self, content: str) -> bool:
        """Send one markdown message; False (and no exception) when alerts are not configured."""
        url = self.url or os.environ.get(WEBHOOK_ENV, "")
        if not url:
            return False
        self.post_markdown_to(url, content, setting=WEBHOOK_ENV)
        return True

    def post_markdown_to(self, url: str, content: str, setting: str) -> None:
        """Send one markdown message to the robot at `url`; `setting` names where the URL came from."""
        response = requests.post(url, json={"msgtype": "markdown", "markdown": {"content": content}},
                                 timeout=self.timeout_seconds)
        if not response.ok:
            # Not raise_for_status(): its message carries the URL, and the robot's key is in the URL.
            raise RuntimeError(f"WeCom robot answered HTTP {response.status_code} {response.reason} (check {setting})")
        answer = response.json()
        if answer.get("errcode", 0) != 0:
            raise RuntimeError(f"WeCom robot refused the alert: {answer} (check {setting})")


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """'asset_key:check_name' of every asset check that did not pass in a run (with what changed, for a schema
    check)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    failed = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed:
            changes = evaluation.metadata.get("changes")  # what a schema check saw change
            detail = f": {changes.value}" if changes is not None else ""
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}{detail}")
    return sorted(set(failed))


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Keys of the steps that failed in a run."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    return sorted({r.event_log_entry.dagster_event.step_key for r in records})


def alert_text(job_name: str, run_id: str, status: str, steps: list[str], checks: list[str],
               reason: str = "") -> str:
    """The markdown a data engineer reads in the group chat. `reason` is said when no step failed (a run
    whose worker was killed, one that never started)."""
    lines = [f"**leadloop: {job_name} {status}**", f"run `{run_id}`"]
    if reason and not steps:
        lines.append(f"reason: {reason}")
    if steps:
        lines.append("failed steps: " + ", ".join(steps[:MAX_LISTED]))
    if checks:
        lines.append(f"failed checks ({len(checks)}):")
        lines += [f"> {check}" for check in checks[:MAX_LISTED]]
    lines.append("Marts downstream of a failed blocking check were not rebuilt: yesterday's data stands.")
    return "\n".join(lines)


@dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Posts every failed run, with its failed steps and checks, to WeCom.")
def alert_on_run_failure(context: dg.RunFailureSensorContext, wecom_robot: WecomRobotWebhook) -> None:
    """Alert on a failed run, including one whose worker was killed (run_workers.py reports it failed)."""
    run = context.dagster_run
    checks = failed_checks(context.instance, run.run_id)
    steps = failed_steps(context.instance, run.run_id)
    reason = context.failure_event.message or ""
    if not wecom_robot.post_markdown(alert_text(run.job_name, run.run_id, "failed", steps, checks, reason)):
        context.log.warning(f"run {run.run_id} failed but no alert was sent: set {WEBHOOK_ENV}")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="alert_on_failed_checks",
                      default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Posts runs that succeeded with failed (non-blocking) checks to WeCom.")
def alert_on_failed_checks(context: dg.RunStatusSensorContext, wecom_robot: WecomRobotWebhook) -> None:
    """Alert on a successful run whose warnings-level checks failed."""
    run = context.dagster_run
    checks = failed_checks(context.instance, run.run_id)
    if checks and not wecom_robot.post_markdown(
            alert_text(run.job_name, run.run_id, "succeeded with failed checks", [], checks)):
        context.log.warning(f"run {run.run_id} has failed checks but no alert was sent: set {WEBHOOK_ENV}")


ALERT_SENSORS = [alert_on_run_failure, alert_on_failed_checks]


def wecom_robot_resource() -> WecomRobotWebhook:
    """The webhook resource; its URL comes from LEADLOOP_ALERT_WEBHOOK_URL when an alert is sent."""
    return WecomRobotWebhook()
