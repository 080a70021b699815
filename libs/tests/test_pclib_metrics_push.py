"""A job's metrics pushed to a Pushgateway, and a push that fails leaving the job alone."""

import logging
import socket

from prometheus_client import CollectorRegistry, Gauge

from pclib.metrics_push import push_metrics
from tests.support.pclib_fixtures import fake_pushgateway


def registry_with_a_gauge() -> CollectorRegistry:
    registry = CollectorRegistry()
    Gauge("job_last_success_timestamp_seconds", "When.", registry=registry).set(1234.0)
    return registry


def closed_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return free.getsockname()[1]


def test_the_metrics_are_pushed_under_the_job():
    with fake_pushgateway() as (url, pushes):
        push_metrics(url, "some-job", registry_with_a_gauge())

    [(method, path, body)] = pushes
    assert (method, path) == ("PUT", "/metrics/job/some-job")
    assert "job_last_success_timestamp_seconds 1234.0" in body


def test_without_a_url_the_job_does_not_push(caplog):
    with caplog.at_level(logging.DEBUG):
        push_metrics("", "some-job", registry_with_a_gauge())
    assert caplog.records == []


def test_an_unreachable_gateway_is_logged_not_raised(caplog):
    with caplog.at_level(logging.WARNING, logger="pclib.metrics_push"):
        push_metrics(f"http://127.0.0.1:{closed_port()}", "some-job", registry_with_a_gauge())
    [warning] = caplog.records
    assert (warning.message, warning.job) == ("could not push the metrics", "some-job")
