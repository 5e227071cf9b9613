#!/usr/bin/env python3
"""Worst bodies per front door: the time of each request and the server's peak memory.

Driven by bench/worst_bodies.sh (which builds the release binary). For each front door it
starts a fresh `hundi serve` on a new SQLite database, sends a small valid body (the
baseline) and then each worst body (the same kinds as tests/it/worst_bodies.rs: deep nesting,
many fields, long strings and keys, huge numbers, many numeric fields...). Before each
request the server's peak RSS is reset (`echo 5 > /proc/PID/clear_refs`), so the VmHWM read
afterwards is that request's own peak. Prints a Markdown table.
"""

import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LIMIT = 1 << 20
ROOM = LIMIT - 8 * 1024
# The dialects', the checkout's and the dashboard's limit is 64 KiB: their worst bodies are
# sent just under it, and just under 1 MiB (which they must refuse cheaply with 413).
SMALL_ROOM = 64 * 1024 - 2 * 1024
HUNDI = sys.argv[1]
TMP = sys.argv[2]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, name):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.db = f"sqlite://{self.dir}/hundi.db"
        self.cli("migrate")
        m = json.loads(self.cli("merchant", "create", "--name", "Bench", "--json"))
        self.merchant = m["id"]
        k = json.loads(self.cli("key", "create", "--merchant", self.merchant, "--mode", "test",
                                "--label", "bench", "--json"))
        self.key = k["secret"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [HUNDI, "serve", "--database-url", self.db, "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log, stderr=self.log, env={**os.environ, "RUST_LOG": "warn"})
        for _ in range(300):
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("hundi did not start")

    def cli(self, *args):
        return subprocess.check_output([HUNDI, *args, "--database-url", self.db],
                                       stderr=subprocess.DEVNULL, text=True).strip()

    def credential(self, name):
        return json.loads(self.cli("credential", "create", name, "--merchant", self.merchant,
                                   "--json"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()

    def send(self, path, body, headers):
        """(status, seconds, cpu seconds, peak KiB) of one request."""
        reset_peak(self.proc.pid)
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method="POST", headers=headers)
        cpu = cpu_seconds(self.proc.pid)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=600) as res:
                res.read()
                status = res.status
        except urllib.error.HTTPError as e:
            e.read()
            status = e.code
        took = time.perf_counter() - started
        return status, took, cpu_seconds(self.proc.pid) - cpu, kib(self.proc.pid, "VmHWM")


def with_fields(base, field):
    out = json.dumps(base, separators=(",", ":"))[:-1]
    parts = [out]
    size = len(out)
    i = 0
    while True:
        k, v = field(i)
        piece = "," + json.dumps(k) + ":" + v
        if size + len(piece) + 1 > ROOM:
            break
        parts.append(piece)
        size += len(piece)
        i += 1
    return "".join(parts) + "}"


def both_rooms(make, base):
    global ROOM
    saved = ROOM
    ROOM = SMALL_ROOM
    try:
        small = [(what + " (64 KiB)", body) for what, body in make(base)]
    finally:
        ROOM = saved
    return small + make(base)


def worst_json(base):
    half = ROOM // 2 - 64
    bodies = [
        ("deep array", "[" * half + "]" * half),
        ("deep object", '{"a":' * (half // 5) + "1" + "}" * (half // 5)),
        ("unclosed nesting", '[{"a":' * (ROOM // 6)),
        ("many string fields", with_fields(base, lambda i: (f"f{i}", '"v"'))),
        ("many numeric fields", with_fields(base, lambda i: (f"n{i}", f"{i}.25"))),
        ("many huge numbers", with_fields(base, lambda i: (f"h{i}", "1e308"))),
        ("one key repeated", with_fields(base, lambda i: ("amount", "1.5"))),
        ("many empty arrays", with_fields(base, lambda i: (f"a{i}", "[[],[],[],[],[],[],[],[]]"))),
        ("many nested objects",
         with_fields(base, lambda i: (f"o{i}", '{"a":{"b":{"c":[1,2.5,"x"]}}}'))),
        ("long key", with_fields(base, lambda i: ("k" * (ROOM // 2 + i), "1"))),
        ("escaped characters",
         with_fields(base, lambda i: (f"e{i}", r'"\ud83d\ude00\u0000\n\"\\\/"'))),
        ("trailing commas", with_fields(base, lambda i: (f"t{i}", "[1, 2, ]"))),
    ]
    for key in base:
        long = dict(base)
        long[key] = "x" * (ROOM - 2048)
        bodies.append((f"long string in {key}", json.dumps(long, separators=(",", ":"))))
        text = json.dumps(base, separators=(",", ":"))
        m = re.search(re.escape(json.dumps(key)) + r":", text)
        start = m.end()
        value = json.dumps(base[key], separators=(",", ":"))
        end = start + len(value)
        for what, token in [
            (f"huge number in {key}", "9" * (ROOM - 2048)),
            (f"huge exponent in {key}", "1e" + "9" * (ROOM - 2048)),
            (f"huge decimal string in {key}", '"' + "9" * (ROOM // 2) + "." + "0" * (ROOM // 4) + '"'),
        ]:
            bodies.append((what, text[:start] + token + text[end:]))
    return bodies


def worst_forms(base):
    encoded = urllib.parse.urlencode(base)

    def grow(piece):
        parts = [encoded]
        size = len(encoded)
        i = 0
        while True:
            p = "&" + piece(i)
            if size + len(p) > ROOM:
                break
            parts.append(p)
            size += len(p)
            i += 1
        return "".join(parts)

    bodies = [
        ("many fields", grow(lambda i: f"f{i}=v")),
        ("one key repeated", grow(lambda i: "number=4242")),
        ("percent escapes", grow(lambda i: f"p{i}=%F0%9F%98%80%00%ZZ")),
        ("empty pairs", grow(lambda i: "&&&")),
    ]
    for key, _ in base:
        long = [(k, "4" * (ROOM - 2048) if k == key else v) for k, v in base]
        bodies.append((f"long value in {key}", urllib.parse.urlencode(long)))
    return bodies


def md5_waypay(body, secret):
    """The Waypay guide's signature: top-level scalars, raw tokens, sorted lowercased keys."""
    fields = []
    for k, v in json.loads(body).items():
        if k.lower() == "signature" or v is None or v == "" or isinstance(v, (dict, list)):
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (int, float)):
            v = re.search(re.escape(json.dumps(k)) + r":\s*([-+0-9.eE]+)", body).group(1)
        fields.append((k.lower(), str(v)))
    fields.sort(key=lambda f: f[0].encode())
    canonical = "&".join(f"{k}={v}" for k, v in fields)
    return hashlib.md5((canonical + secret).encode()).hexdigest()


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def doors():
    """(name, setup) where setup(server) -> (path, content type, headers, baseline, worst, sign)."""

    def native(path, base):
        def setup(s):
            h = {"Authorization": f"Bearer {s.key}"}
            return path, JSON, h, json.dumps(base), worst_json(base), None
        return setup

    def pakhipay(s):
        base = {"cus_name": "John", "cus_email": "john@example.com", "amount": "100.00",
                "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no"}
        return ("/api/request/payment/create", JSON, {"api-key": s.key}, json.dumps(base),
                both_rooms(worst_json, base), None)

    def paygate(s):
        base = {"amount": 100, "customer_name": "John Doe", "merchant_ref": "ORDER-123",
                "callback_url": "https://shop.example/cb", "metadata": {"order_id": "ORD-456"}}
        return ("/api/v1/create-payment", JSON, {"X-API-Key": s.key}, json.dumps(base),
                both_rooms(worst_json, base), None)

    def xpay(s):
        cred = s.credential("xpay_hmac")
        secret = cred["secret"].encode()
        base = {"amount": "150.00", "currency": "PKR",
                "customer": {"name": "Zoe", "email": "z@example.com"},
                "metadata": {"order_reference": 1042}}
        h = {"x-api-key": s.key, "x-account-id": cred["public_id"]}

        def sign(body):
            return {"x-signature": hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()}
        return ("/public/v1/payment/checkout", JSON, h, json.dumps(base), both_rooms(worst_json, base), sign)

    def waypay(s):
        secret = s.credential("waypay")["secret"]
        base = {"amount": 1000, "currency": "PKR", "description": "Product Purchase",
                "orderRef": {"orderRef": "ORD123456", "discount": "10", "tax": "15"},
                "intentType": "checkout", "paymentMethod": 1,
                "signature": "0" * 32}
        worst = both_rooms(worst_json, base)
        numbers = dict(base, amount=1000.5)
        numbers.pop("signature")
        for i in range(24):
            numbers[f"n{i:02}"] = i + 0.25
        numbers["signature"] = md5_waypay(json.dumps(numbers), secret)
        worst.append(("24 extra numeric fields, signed", json.dumps(numbers)))
        small = dict(base)
        small.pop("signature")
        small["orderRef"] = {"orderRef": "ORD1"}
        small["signature"] = md5_waypay(json.dumps(small), secret)
        return ("/Gateway/v1/Payment/initiate-checkout", JSON, {"SWICH-API-Key": s.key},
                json.dumps(small), worst, None)

    def kazawallet(s):
        s.credential("kazawallet")
        base = {"amount": "150.00", "currency": "USD", "email": "buyer@example.com",
                "ref": "inv-1", "redirectUrl": "https://shop.example/done"}
        return ("/wallet/createPaymentLink", JSON, {"x-api-key": s.key}, json.dumps(base),
                both_rooms(worst_json, base), None)

    def checkout(action, fields):
        def setup(s):
            req = urllib.request.Request(
                s.url + "/v1/payments", method="POST",
                data=json.dumps({"amount": "100.00", "currency": "PKR"}).encode(),
                headers={"Authorization": f"Bearer {s.key}", "Content-Type": JSON})
            url = json.loads(urllib.request.urlopen(req).read())["checkout_url"]
            page = urllib.request.urlopen(url).read().decode()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            base = [(k, csrf if v == "CSRF" else v) for k, v in fields]
            path = urllib.parse.urlparse(url).path + "/" + action
            return path, FORM, {}, urllib.parse.urlencode(base), both_rooms(worst_forms, base), None
        return setup

    def sign_in(s):
        res = urllib.request.urlopen(s.url + "/dashboard/login")
        cookies = "; ".join(c.split(";")[0] for c in res.headers.get_all("Set-Cookie") or [])
        csrf = re.search(r'name="csrf" value="([^"]+)"', res.read().decode()).group(1)
        base = [("email", "nobody@example.com"), ("password", "wrong password"), ("csrf", csrf)]
        return "/dashboard/login", FORM, {"Cookie": cookies}, urllib.parse.urlencode(base), \
            both_rooms(worst_forms, base), None

    return [
        ("POST /v1/payments", native("/v1/payments", {
            "amount": "100.00", "currency": "PKR", "description": "bench", "reference": "R1",
            "metadata": {"a": "b"}, "customer": {"email": "a@example.com"}})),
        ("POST /v1/webhook_endpoints", native("/v1/webhook_endpoints", {
            "url": "https://93.184.216.34/hook", "events": ["payment.succeeded"],
            "description": "d"})),
        ("POST /v1/credits", native("/v1/credits", {
            "utr": "410512345678", "amount": "99.00", "payer": "ravi@oksbi"})),
        ("POST /v1/credits/parse", native("/v1/credits/parse", {
            "text": "Dear Customer, Rs.1,499.00 credited to your A/c XX1234 on 14-04-26 by UPI "
                    "Ref No 410512345678. Avl Bal Rs.25,000.00 -SBI"})),
        ("Pakhi Pay create", pakhipay),
        ("PayGate create", paygate),
        ("XPay create", xpay),
        ("Waypay create", waypay),
        ("Kazawallet create", kazawallet),
        ("checkout card form", checkout("card", [
            ("csrf", "CSRF"), ("number", "4000000000000002"), ("expiry", "12/40"), ("cvc", "123")])),
        ("checkout wallet form", checkout("wallet", [
            ("csrf", "CSRF"), ("wallet", "jazzcash"), ("phone", "03001234567")])),
        ("checkout OTP form", checkout("otp", [
            ("csrf", "CSRF"), ("attempt", "att_1"), ("otp", "000000")])),
        ("dashboard sign-in", sign_in),
    ]


def main():
    rows = []
    failures = 0
    for n, (name, setup) in enumerate(doors()):
        server = Server(f"door{n}")
        try:
            path, ctype, headers, baseline, worst, sign = setup(server)

            def send(body):
                h = {"Content-Type": ctype, **headers, **(sign(body) if sign else {})}
                return server.send(path, body, h)

            send(baseline)  # warm-up: first connection, lazy statics
            b_status, b_time, b_cpu, b_peak = send(baseline)
            slow = (0, "", 0, 0, 0)
            big = (0, "", 0, 0, 0)
            for what, body in worst:
                status, took, cpu, peak = send(body)
                if status >= 500:
                    failures += 1
                    print(f"{name}: {what} answered {status}", file=sys.stderr)
                if took > slow[0]:
                    slow = (took, what, status, cpu, peak)
                if peak > big[3]:
                    big = (took, what, status, peak, cpu)
            rows.append((name, b_status, b_time, b_cpu, b_peak, slow, big))
            print(f"{name}: baseline {b_status} {b_time*1000:.1f} ms {b_peak/1024:.1f} MiB; "
                  f"slowest {slow[1]} {slow[2]} {slow[0]*1000:.1f} ms; "
                  f"peak {big[1]} {big[3]/1024:.1f} MiB", file=sys.stderr)
        finally:
            server.stop()
    print("| front door | baseline: status, time, peak RSS | slowest worst body | status | time (CPU) | "
          "largest-memory worst body | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for name, b_status, b_time, b_cpu, b_peak, slow, big in rows:
        print(f"| {name} | {b_status}, {b_time*1000:.1f} ms, {b_peak/1024:.1f} MiB | {slow[1]} | "
              f"{slow[2]} | {slow[0]*1000:.1f} ms ({slow[3]*1000:.0f} ms) | {big[1]} | "
              f"{big[3]/1024:.1f} MiB |")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
