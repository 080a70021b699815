"""Metrics of a job (a CronJob's command): it ends before Prometheus could scrape it, so it
pushes them to a Pushgateway before it exits."""

import logging

from prometheus_client import REGISTRY, CollectorRegistry, push_to_gateway

log = logging.getLogger(__name__)


def push_metrics(url: str, job: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Pushes the registry under `job` when a URL is given. A failure is only logged: the
    job's own work is done and must not be reported failed for its metrics."""
    if not url:
        return
    try:
        push_to_gateway(url, job=job, registry=registry)
    except OSError:
        log.warning("could not push the metrics", extra={"job": job}, exc_info=True)
