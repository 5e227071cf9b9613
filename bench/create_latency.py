#!/usr/bin/env python3
"""Creates payments from N threads (one keep-alive connection each) for S seconds and prints
the latency percentiles of the answers, in milliseconds, as JSON.

    python3 bench/create_latency.py URL KEY SECONDS THREADS
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

url, key, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
host = urllib.parse.urlparse(url)
latencies, failures = [], [0]
lock = threading.Lock()
stop_at = time.monotonic() + seconds


def worker():
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    body = json.dumps({"amount": "10.00", "currency": "PKR"})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    mine = []
    while time.monotonic() < stop_at:
        started = time.monotonic()
        conn.request("POST", "/v1/payments", body, headers)
        res = conn.getresponse()
        res.read()
        if res.status == 201:
            mine.append((time.monotonic() - started) * 1000)
        else:
            with lock:
                failures[0] += 1
    with lock:
        latencies.extend(mine)


pool = [threading.Thread(target=worker) for _ in range(threads)]
for t in pool:
    t.start()
for t in pool:
    t.join()
latencies.sort()


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))], 2) if latencies else None


print(json.dumps({"creates": len(latencies), "failed": failures[0], "per_second": round(len(latencies) / seconds),
                  "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(latencies[-1], 2) if latencies else None}))
