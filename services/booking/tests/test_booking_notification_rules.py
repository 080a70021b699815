"""The pure rules of booking notifications: the signature (Stripe's scheme) as a receiver
checks it, the destinations refused (SSRF), the retry schedule."""

import ipaddress
from datetime import timedelta

import pytest

from booking.domain import notifications as rules
from pclib.errors import InvalidArgument

SECRET = "whsec_test"
BODY = b'{"action":"BOOK","booking":{"id":"b1"}}'


def test_a_signature_verifies_with_its_secret_body_and_time():
    header = rules.signature(SECRET, 1_700_000_000, BODY)
    assert header.startswith("t=1700000000,v1=")
    assert rules.verify(SECRET, header, BODY, now=1_700_000_010)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("whsec_other", BODY, 1_700_000_010),  # another secret
        (SECRET, BODY.replace(b"BOOK", b"CANCEL"), 1_700_000_010),  # a body changed
        (SECRET, BODY, 1_700_000_000 + rules.REPLAY_TOLERANCE_SECONDS + 1),  # replayed later
    ],
)
def test_a_signature_fails_for_another_secret_body_or_a_replay(secret, body, now):
    header = rules.signature(SECRET, 1_700_000_000, BODY)
    assert not rules.verify(secret, header, body, now=now)


def test_a_signature_with_a_changed_time_fails():
    header = rules.signature(SECRET, 1_700_000_000, BODY).replace("t=1700000000", "t=1700000100")
    assert not rules.verify(SECRET, header, BODY, now=1_700_000_100)
    assert not rules.verify(SECRET, "garbage", BODY, now=1_700_000_000)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(address):
    assert not rules.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert rules.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://cinema.example/hook",
        "ftp://cinema.example",
        "/relative",
        "https://",
        "https://u:p@h/",
    ],
)
def test_only_https_urls_with_a_host_in_production(url):
    with pytest.raises(InvalidArgument) as refused:
        rules.check_url(url, allow_http=False)
    assert refused.value.reason == "INVALID_NOTIFICATION_URL"


def test_http_is_allowed_by_the_test_setting_only():
    assert rules.check_url("http://127.0.0.1:8000/hook", allow_http=True) == "127.0.0.1"
    assert rules.check_url("https://hooks.cinema.example/p", allow_http=False) == (
        "hooks.cinema.example"
    )


def test_retries_double_up_to_the_cap_and_stop_after_the_window():
    first, cap = timedelta(seconds=30), timedelta(hours=1)
    delays = [rules.retry_delay(n, first, cap) for n in range(1, 10)]
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert delays[-1] == cap and delays == sorted(delays)
    assert rules.retry_delay(10_000, first, cap) == cap
    assert not rules.gives_up(timedelta(hours=23), timedelta(hours=24))
    assert rules.gives_up(timedelta(hours=24), timedelta(hours=24))
