"""A latency-injecting HTTP/1.1 proxy: models the Lambda-to-DynamoDB/S3 round trip.

Every request read from a client is held for ``delay_ms`` and then forwarded to one upstream
(the moto server) over a kept-alive connection; the response is relayed back unchanged. Each
client connection gets its own thread and its own upstream connection, so concurrent clients
are delayed concurrently, like independent round trips to a real service.

The proxy also counts what goes over the wire (per service and operation) and answers two
paths itself, without delay and without forwarding:

- ``GET /__bench_proxy__/stats``: ``{"requests": {"dynamodb:BatchWriteItem": 400, ...}}``
- ``POST /__bench_proxy__/reset``: zero the counters.
- ``POST /__bench_proxy__/delay/<ms>``: change the hold time (calibration).

Run it on its own (``python bench/proxy.py --upstream 127.0.0.1:5000 --delay-ms 10``); it
prints ``LISTENING <port>`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import sys
import threading
import time
from collections import Counter
from typing import BinaryIO

STATS_PATH = "/__bench_proxy__/stats"
RESET_PATH = "/__bench_proxy__/reset"
DELAY_PATH = "/__bench_proxy__/delay/"
_CHUNK = 256 * 1024


class _Closed(Exception):
    """The peer closed the connection between messages (normal end of keep-alive)."""


def _read_head(stream: BinaryIO) -> list[bytes]:
    """Start line and header lines of one HTTP message (without the blank line)."""
    lines: list[bytes] = []
    while True:
        line = stream.readline(65_537)
        if not line:
            if lines:
                raise ConnectionError("connection closed inside an HTTP header")
            raise _Closed
        if line in (b"\r\n", b"\n"):
            if not lines:
                continue  # tolerate stray CRLF between messages
            return lines
        lines.append(line)


def _headers(lines: list[bytes]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def _copy_exact(src: BinaryIO, dst: socket.socket, length: int) -> None:
    while length > 0:
        data = src.read(min(length, _CHUNK))
        if not data:
            raise ConnectionError("connection closed inside an HTTP body")
        dst.sendall(data)
        length -= len(data)


def _copy_chunked(src: BinaryIO, dst: socket.socket) -> None:
    """Relay a chunked body verbatim (sizes, extensions, trailers)."""
    while True:
        size_line = src.readline(65_537)
        if not size_line:
            raise ConnectionError("connection closed inside a chunked body")
        dst.sendall(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:  # trailers, then the final CRLF
                trailer = src.readline(65_537)
                if not trailer:
                    raise ConnectionError("connection closed inside chunked trailers")
                dst.sendall(trailer)
                if trailer in (b"\r\n", b"\n"):
                    return
        _copy_exact(src, dst, size + 2)  # data and its CRLF


def _copy_body(
    src: BinaryIO, dst: socket.socket, headers: dict[str, str], *, until_close: bool
) -> None:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        _copy_chunked(src, dst)
    elif "content-length" in headers:
        _copy_exact(src, dst, int(headers["content-length"]))
    elif until_close:
        while data := src.read1(_CHUNK):  # type: ignore[attr-defined]
            dst.sendall(data)


def _operation(method: str, headers: dict[str, str]) -> str:
    target = headers.get("x-amz-target", "")
    if target.startswith("DynamoDB_"):
        return f"dynamodb:{target.rsplit('.', 1)[-1]}"
    if target:
        return f"other:{target}"
    return f"s3:{method}"


class LatencyProxy(socketserver.ThreadingTCPServer):
    """``with LatencyProxy(("127.0.0.1", 0), ("127.0.0.1", 5000), 0.010) as proxy: ...``"""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], delay_s: float) -> None:
        super().__init__(listen, _Handler)
        self.upstream = upstream
        self.delay_s = delay_s
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def count(self, operation: str) -> None:
        with self.lock:
            self.counts[operation] += 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()


class _Handler(socketserver.BaseRequestHandler):
    server: LatencyProxy

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client_in = self.request.makefile("rb", buffering=_CHUNK)
        self.upstream: socket.socket | None = None
        self.upstream_in: BinaryIO | None = None

    def finish(self) -> None:
        self._drop_upstream()
        self.client_in.close()

    def _drop_upstream(self) -> None:
        if self.upstream_in is not None:
            self.upstream_in.close()
        if self.upstream is not None:
            self.upstream.close()
        self.upstream = self.upstream_in = None

    def _connect(self) -> tuple[socket.socket, BinaryIO]:
        if self.upstream is None or self.upstream_in is None:
            self.upstream = socket.create_connection(self.server.upstream, timeout=120)
            self.upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.upstream_in = self.upstream.makefile("rb", buffering=_CHUNK)
        return self.upstream, self.upstream_in

    def handle(self) -> None:
        try:
            while self._one_exchange():
                pass
        except (_Closed, ConnectionError, OSError):
            pass  # client went away, or a broken message: drop the connection

    def _reply_local(self, status: str, body: bytes) -> None:
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.request.sendall(head.encode("latin-1") + body)

    def _one_exchange(self) -> bool:
        lines = _read_head(self.client_in)
        method, path, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = _headers(lines)
        if path.startswith(STATS_PATH):
            self._reply_local("200 OK", json.dumps({"requests": self.server.snapshot()}).encode())
            return True
        if path.startswith(RESET_PATH):
            self.server.reset()
            self._reply_local("200 OK", b"{}")
            return True
        if path.startswith(DELAY_PATH):
            self.server.delay_s = float(path[len(DELAY_PATH) :]) / 1000
            self._reply_local("200 OK", b"{}")
            return True
        if headers.get("expect", "").lower() == "100-continue":
            # Answer for the upstream: the body is read in full before anything is forwarded.
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            lines = [line for line in lines if not line.lower().startswith(b"expect:")]
        # Buffer the whole request, then wait: the delay models one network round trip.
        request = bytearray(b"".join(lines) + b"\r\n")
        sink = _Buffer(request)
        _copy_body(self.client_in, sink, headers, until_close=False)  # type: ignore[arg-type]
        self.server.count(_operation(method, headers))
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            upstream, upstream_in = self._connect()
            try:
                upstream.sendall(request)
                head = _read_head(upstream_in)
                break
            except (_Closed, ConnectionError, OSError):
                self._drop_upstream()
                if attempt == 2:
                    raise
        while head[0].split(b" ", 2)[1].startswith(b"1"):  # 1xx interim responses
            self.request.sendall(b"".join(head) + b"\r\n")
            head = _read_head(upstream_in)
        response_headers = _headers(head)
        self.request.sendall(b"".join(head) + b"\r\n")
        status = int(head[0].split(b" ", 2)[1])
        connection = response_headers.get("connection", "").lower()
        close = connection == "close" or (
            head[0].startswith(b"HTTP/1.0") and connection != "keep-alive"
        )
        if method != "HEAD" and status not in (204, 304):
            has_length = "content-length" in response_headers or "chunked" in response_headers.get(
                "transfer-encoding", ""
            )
            _copy_body(upstream_in, self.request, response_headers, until_close=not has_length)
            close = close or not has_length
        if close:
            self._drop_upstream()
            return False
        return headers.get("connection", "").lower() != "close"


class _Buffer:
    """A socket-like sink (``sendall``) that appends to a bytearray."""

    def __init__(self, target: bytearray) -> None:
        self.target = target

    def sendall(self, data: bytes) -> None:
        self.target += data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: pick a free port")
    parser.add_argument("--upstream", required=True, help="host:port of the moto server")
    parser.add_argument("--delay-ms", type=float, default=10.0)
    args = parser.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    with LatencyProxy((args.host, args.port), (host, int(port)), args.delay_ms / 1000) as proxy:
        print(f"LISTENING {proxy.port}", flush=True)
        proxy.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
