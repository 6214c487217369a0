#!/usr/bin/python3.11
"""Floods a running `robotni serve` the ways issue #12 found, one at a time, while a
well-behaved client measures its latency, and samples serve's resident memory.

  abuse.py --url http://127.0.0.1:PORT --pid PID --token TOKEN [--seconds 10] [--only NAME,...]

Each flood runs in a child process (its own GIL) from its own loopback addresses
(127.0.0.2 and up), so serve's per-address connection cap does not shield the honest client,
which connects from 127.0.0.1 and alternates GET /healthz (a new connection each time) with
GET /api/worker/jobs/{id} (token, one keep-alive connection), 100 requests a second. Printed per flood: the honest
client's p50 / p99 / max latency and errors, serve's largest VmRSS sampled every 50 ms during
the flood, and its VmRSS a few seconds after the flood. Benchmarks print; they do not assert.
Standard library only.
"""

import argparse
import json
import multiprocessing
import os
import selectors
import socket
import statistics
import sys
import time
import urllib.parse

MiB = 1024 * 1024


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect(host, port, source, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    return s


def request(method, path, host, token=None, body=b"", extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body or method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + extra + "\r\n").encode() + body


def read_response(sock, buf):
    """Reads one Content-Length framed response; returns (status, rest of buf)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, rest[length:]


# ---- floods: each runs until `deadline` (time.monotonic()) ----

def sources(first, n):
    return [f"127.0.{(first + i) // 250}.{(first + i) % 250 + 2}" for i in range(n)]


def flood_pipeline(host, port, hostname, token, deadline):
    """4 connections each pipelining 10,000 GET /openapi.json and never reading."""
    burst = request("GET", "/openapi.json", hostname) * 10_000
    socks = []
    for src in sources(0, 4):
        s = connect(host, port, src)
        s.setblocking(False)
        socks.append([s, memoryview(burst)])
    while time.monotonic() < deadline:
        for entry in socks:
            s, left = entry
            if left:
                try:
                    n = s.send(left)
                    entry[1] = left[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    entry[1] = memoryview(b"")
        time.sleep(0.05)
    for s, _ in socks:
        s.close()


def flood_bodies(host, port, hostname, token, deadline, count=300):
    """`count` connections each announcing a 1 MiB body and sending all of it but a byte,
    reconnecting when serve closes them. token None: unauthenticated (401 on the headers)."""
    head = (f"POST /api/worker/jobs HTTP/1.1\r\nHost: {hostname}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1048576\r\n"
            + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()
    payload = head + b"[" * (MiB - 1)
    srcs = sources(10, 3)  # 100 per address, under the per-address cap
    sel = selectors.DefaultSelector()
    state = {}

    def open_one(i):
        try:
            s = connect(host, port, srcs[i % len(srcs)])
        except OSError:
            return
        s.setblocking(False)
        state[s] = [i, memoryview(payload)]
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)

    for i in range(count):
        open_one(i)
    while time.monotonic() < deadline:
        for key, events in sel.select(timeout=0.1):
            s = key.fileobj
            i, left = state[s]
            try:
                if events & selectors.EVENT_READ:
                    if not s.recv(65536):
                        raise ConnectionError
                if events & selectors.EVENT_WRITE and left:
                    n = s.send(left[:65536])
                    state[s][1] = left[n:]
                    if not state[s][1]:
                        sel.modify(s, selectors.EVENT_READ)  # all but a byte: wait
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                sel.unregister(s)
                del state[s]
                s.close()
                open_one(i)
    for s in list(state):
        s.close()


def flood_bodies_auth(host, port, hostname, token, deadline):
    flood_bodies(host, port, hostname, token, deadline)


def flood_bodies_noauth(host, port, hostname, token, deadline):
    flood_bodies(host, port, hostname, None, deadline)


def flood_slowloris(host, port, hostname, token, deadline):
    """10,010 half-sent requests from one address, one header byte every few seconds,
    reconnecting those serve closes."""
    src = sources(20, 1)[0]
    socks = []
    for _ in range(10_010):
        if time.monotonic() >= deadline:
            break
        try:
            s = connect(host, port, src, timeout=0.5)
            s.send(f"GET /healthz HTTP/1.1\r\nHost: {hostname}\r\n".encode())
            socks.append(s)
        except OSError:
            pass  # refused or closed at once: over the per-address cap
    while time.monotonic() < deadline:
        alive = []
        for s in socks:
            try:
                s.send(b"X")
                alive.append(s)
            except OSError:
                s.close()
        socks = alive
        time.sleep(2)
    for s in socks:
        s.close()


def flood_guessing(host, port, hostname, token, deadline):
    """Wrong tokens as fast as one connection gets answers (401, then 429)."""
    src = sources(30, 1)[0]
    n = 0
    s, buf = None, b""
    while time.monotonic() < deadline:
        try:
            if s is None:
                s, buf = connect(host, port, src), b""
            s.sendall(request("GET", "/api/worker/jobs", hostname, token=f"guess-{n:08d}"))
            _, buf = read_response(s, buf)
            n += 1
        except OSError:
            if s:
                s.close()
            s = None
            time.sleep(0.01)


FLOODS = {
    "pipeline": flood_pipeline,
    "bodies-noauth": flood_bodies_noauth,
    "bodies-auth": flood_bodies_auth,
    "slowloris": flood_slowloris,
    "guessing": flood_guessing,
}


# ---- the honest client ----

def honest(host, port, hostname, token, job_id, seconds, pid):
    lat, errors, rss_max = [], 0, 0
    sock, buf = None, b""
    paths = ["/healthz", f"/api/worker/jobs/{job_id}"]
    end = time.monotonic() + seconds
    i = 0
    next_rss = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_rss:
            rss_max = max(rss_max, rss_kib(pid))
            next_rss = now + 0.05
        path = paths[i % 2]
        i += 1
        t0 = time.monotonic()
        try:
            # /healthz on a new connection each time (a client locked out cannot connect), the
            # job on a kept-alive one.
            if path == "/healthz":
                with connect(host, port, "127.0.0.1", timeout=5.0) as fresh:
                    fresh.sendall(request("GET", path, hostname, token=token))
                    status, _ = read_response(fresh, b"")
            else:
                if sock is None:
                    sock, buf = connect(host, port, "127.0.0.1", timeout=5.0), b""
                sock.sendall(request("GET", path, hostname, token=token))
                status, buf = read_response(sock, buf)
            if status != 200:
                errors += 1
            lat.append(time.monotonic() - t0)
        except OSError:
            errors += 1
            lat.append(time.monotonic() - t0)
            if sock:
                sock.close()
            sock = None
        time.sleep(max(0.0, 0.01 - (time.monotonic() - t0)))
    if sock:
        sock.close()
    return lat, errors, rss_max


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    u = urllib.parse.urlparse(args.url)
    host, port, hostname = u.hostname, u.port, u.netloc

    # A job for the honest client to read.
    s = connect(host, port, "127.0.0.1")
    body = json.dumps({"type": "fakejob", "params": {"delay_seconds": 0}}).encode()
    s.sendall(request("POST", "/api/worker/jobs", hostname, token=args.token, body=body))
    status, rest = read_response(s, b"")
    s.close()
    job_id = "1"
    if status in (200, 201, 202):
        try:
            job_id = str(json.loads(rest or b"{}").get("id", job_id))
        except ValueError:
            pass

    names = [n for n in (args.only.split(",") if args.only else ["baseline", *FLOODS])]
    print(f"serve pid {args.pid}, VmRSS at start {rss_kib(args.pid) / 1024:.1f} MiB; "
          f"{args.seconds:g} s per flood; targets: p99 < 50 ms, RSS < 200 MB")
    print(f"{'flood':<14} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'reqs':>6} {'errors':>6} "
          f"{'max RSS MiB':>12} {'RSS after MiB':>14}")
    for name in names:
        proc = None
        if name != "baseline":
            deadline = time.monotonic() + args.seconds
            proc = multiprocessing.Process(
                target=FLOODS[name], args=(host, port, hostname, args.token, deadline), daemon=True)
            proc.start()
            time.sleep(0.5)  # let the flood build up before measuring
        lat, errors, rss_max = honest(host, port, hostname, args.token, job_id,
                                      args.seconds - (0.5 if proc else 0), args.pid)
        if proc:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        time.sleep(3)  # connections go, memory is given back
        after = rss_kib(args.pid)
        print(f"{name:<14} {percentile(lat, 50) * 1000:8.2f} {percentile(lat, 99) * 1000:8.2f} "
              f"{max(lat) * 1000 if lat else float('nan'):8.2f} {len(lat):6d} {errors:6d} "
              f"{rss_max / 1024:12.1f} {after / 1024:14.1f}", flush=True)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    sys.exit(main())
