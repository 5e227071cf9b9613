#!/usr/bin/env python3
"""Measures an idle window first (the baseline), then opens many waiting checkout pages' streams (/pay/{id}/events) against one Hundi node,
measures what they cost while they wait, then completes a sample of their payments with
bank credits and times each page's update.

    waiting_client.py URL KEY IDS_FILE SERVER_PID PSQL_DB SECONDS SAMPLE

IDS_FILE holds one "payment_id amount" per line (UPI payments whose payable amount is
unique). Streams come from 127.0.0.2, 127.0.0.3, ... (50 per address: as many customers,
not one client hitting the per-client bound). Prints one JSON object."""

import asyncio
import http.client
import json
import os
import resource
import subprocess
import sys
import time
import urllib.parse

PER_ADDRESS = 50


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def db_transactions(db):
    out = subprocess.run(
        ["psql", "-At", "-d", db, "-c",
         f"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '{db}'"],
        capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


# A PostgreSQL backend that flushed its statistics less than a second before going idle sends
# the rest only after PGSTAT_IDLE_INTERVAL (10 s, PostgreSQL 15's pgstat.c): the reads that
# opened the pages would otherwise be counted in the window, some runs and not others.
SETTLE_S = 12


async def measure(pid, db, seconds):
    """The server's CPU (% of one core), RSS (MB) and the database's transactions a second
    over `seconds`, after SETTLE_S to settle."""
    await asyncio.sleep(SETTLE_S)
    cpu0, tx0, t0 = cpu_seconds(pid), db_transactions(db), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, tx1, t1 = cpu_seconds(pid), db_transactions(db), time.monotonic()
    window = t1 - t0
    return {
        "window_s": round(window, 1),
        "cpu": round((cpu1 - cpu0) / window * 100, 2),
        "rss": round(rss_mb(pid), 1),
        "tx": round((tx1 - tx0) / window, 1),
    }


class Page:
    def __init__(self, payment_id):
        self.payment_id = payment_id
        self.statuses = []
        self.changed = asyncio.Event()
        self.heard_at = None


async def wait_on(host, port, page, index, opened):
    source = f"127.0.0.{2 + index // PER_ADDRESS}"
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.write(f"GET /pay/{page.payment_id}/events HTTP/1.1\r\nHost: {host}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(head.decode(errors="replace"))
    buffer = b""
    first = True
    while True:
        chunk = await reader.read(4096)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            for line in event.split(b"\n"):
                if line.startswith(b"data: ") and b'"status"' in line:
                    status = json.loads(line[6:])["status"]
                    page.statuses.append(status)
                    if first:
                        first = False
                        opened.release()
                    elif page.heard_at is None:
                        page.heard_at = time.monotonic()
                        page.changed.set()
    writer.close()


def post_credit(url, key, utr, amount):
    parsed = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    body = json.dumps({"utr": utr, "amount": amount})
    conn.request("POST", "/v1/credits", body,
                 {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    conn.close()
    return res.status


async def main():
    url, key, ids_file, pid, db, seconds, sample = sys.argv[1:8]
    pid, seconds, sample = int(pid), float(seconds), int(sample)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(ids_file) as f:
        rows = [line.split() for line in f if line.strip()]
    parsed = urllib.parse.urlparse(url)
    pages = [Page(pid_) for pid_, _ in rows]

    # The baseline: the same server, the same length of time, no page waiting.
    idle = await measure(pid, db, seconds)

    opened = asyncio.Semaphore(0)
    started = time.monotonic()
    tasks = []
    for i, page in enumerate(pages):
        tasks.append(asyncio.create_task(wait_on(parsed.hostname, parsed.port, page, i, opened)))
        if i % 200 == 199:
            await asyncio.sleep(0.05)  # open them over a few seconds, as customers arrive
    for _ in pages:
        await opened.acquire()
    open_s = time.monotonic() - started
    failed = [t for t in tasks if t.done() and t.exception()]
    if failed:
        raise failed[0].exception()

    # While they wait: the server's CPU, memory and the database's transactions.
    waiting = await measure(pid, db, seconds)

    # A sample of payments completed by bank credits, one every 50 ms; each page's update timed.
    loop = asyncio.get_running_loop()
    step = max(1, len(pages) // sample)
    latencies = []
    for n, i in enumerate(range(0, len(pages), step)[:sample]):
        page, amount = pages[i], rows[i][1]
        sent = time.monotonic()
        status = await loop.run_in_executor(None, post_credit, url, key, f"9{n:011d}", amount)
        if status != 201:
            raise RuntimeError(f"credit answered {status}")
        try:
            await asyncio.wait_for(page.changed.wait(), 10)
            latencies.append((page.heard_at - sent) * 1000)
        except asyncio.TimeoutError:
            latencies.append(float("inf"))
        await asyncio.sleep(0.05)
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    print(json.dumps({
        "pages": len(pages),
        "idle_server_cpu_percent_of_one_core": idle["cpu"],
        "idle_server_rss_mb": idle["rss"],
        "idle_db_transactions_per_s": idle["tx"],
        "opened_in_s": round(open_s, 1),
        "window_s": waiting["window_s"],
        "server_cpu_percent_of_one_core": waiting["cpu"],
        "server_rss_mb": waiting["rss"],
        "db_transactions_per_s": waiting["tx"],
        "credits": len(latencies),
        "update_ms_p50": round(pick(0.5), 1),
        "update_ms_p99": round(pick(0.99), 1),
        "update_ms_max": round(latencies[-1], 1),
        "updated_within_1s": sum(1 for l in latencies if l <= 1000),
    }))
    for t in tasks:
        t.cancel()


asyncio.run(main())
