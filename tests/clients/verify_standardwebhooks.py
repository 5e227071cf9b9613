"""Verifies captured webhook deliveries with the `standardwebhooks` library from PyPI, as a
merchant's receiver would. Reads JSON lines {"secret", "headers", "body"} on stdin; prints the
event ids it verified, one per line; exits non-zero on the first delivery that fails."""
import json
import sys

from standardwebhooks.webhooks import Webhook

verified = 0
for line in sys.stdin:
    if not line.strip():
        continue
    d = json.loads(line)
    wh = Webhook(d["secret"])
    payload = wh.verify(d["body"], d["headers"])  # raises WebhookVerificationError
    print(payload["id"])
    verified += 1
print(f"verified {verified}", file=sys.stderr)
