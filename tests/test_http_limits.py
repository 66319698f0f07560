"""Bounded vendor calls: an overall deadline per request and a maximum response size, the body streamed."""

import gzip
import time
import tracemalloc

import pytest

from hub.errors import TransientError, VendorRejected
from hub.http import VendorHttp, new_client

CHUNK = b"x" * 65536


def drip(environ, start_response):
    """A vendor that sends one byte every 0.2 s, for ever (per-read timeouts never fire)."""
    start_response("200 OK", [("Content-Type", "application/json")])

    def body():
        for _ in range(10_000):
            time.sleep(0.2)
            yield b" "

    return body()


def endless(environ, start_response):
    """A vendor that streams 100 MB without a Content-Length."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return (CHUNK for _ in range(100 * 1024 * 1024 // len(CHUNK)))


def declared(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(10**9))])
    return [b"{}"]


def bomb(environ, start_response):
    """A small gzip body that decodes to 50 MB."""
    body = gzip.compress(b"0" * (50 * 1024 * 1024))
    start_response("200 OK", [("Content-Encoding", "gzip"), ("Content-Length", str(len(body)))])
    return [body]


def small(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok": ', b"true}"]


def http(**kw) -> VendorHttp:
    return VendorHttp("slowpoke", new_client(), **kw)


def test_a_vendor_dripping_bytes_is_cut_at_the_deadline(serve):
    origin = serve(drip)
    started = time.monotonic()
    with pytest.raises(TransientError) as raised:
        http(deadline=1.0).get(origin + "/v1/stats")
    took = time.monotonic() - started
    assert took < 2.5, f"held for {took:.1f} s"
    assert "did not finish answering within 1 s" in raised.value.message
    assert "HUB_VENDOR_DEADLINE" in raised.value.message and raised.value.retryable


def test_a_huge_body_is_refused_without_buffering_it(serve):
    origin = serve(endless)
    tracemalloc.start()
    try:
        with pytest.raises(VendorRejected) as raised:
            http(max_bytes=1024 * 1024).get(origin + "/v1/stats")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the process (the loopback server thread included) stays far below the 100 MB the vendor sent
    assert peak < 25 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert "larger than 1,048,576 bytes (HUB_VENDOR_MAX_BYTES)" in raised.value.message
    assert not raised.value.retryable


def test_a_declared_length_over_the_limit_is_refused_before_reading(serve):
    with pytest.raises(VendorRejected):
        http(max_bytes=1024).get(serve(declared) + "/v1/x")


def test_the_limit_counts_decoded_bytes(serve):
    with pytest.raises(VendorRejected):
        http(max_bytes=1024 * 1024).get(serve(bomb) + "/v1/x")


def test_a_normal_answer_is_read_whole(serve):
    response = http(max_bytes=1024, deadline=5).get(serve(small) + "/v1/x")
    assert response.json() == {"ok": True}


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUB_VENDOR_DEADLINE", "7.5")
    monkeypatch.setenv("HUB_VENDOR_MAX_BYTES", "12345")
    client = http()
    assert (client.deadline, client.max_bytes) == (7.5, 12345)
