"""Schemathesis hooks for tests/it/openapi_schemathesis.rs.

An `Idempotency-Key` says "this is the same request as before": the server answers a key it
has seen with the first response, even when the object that response named was deleted since.
Schemathesis replays sequences of requests (to shrink and to confirm a failure), so a key it
generated comes back and is rightly answered with the stored response, which the stateful
checks would then report as a missing resource. Each valid key the run sends is therefore
made unique to its request; invalid keys (the negative cases) are sent as generated.
"""

import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or not case.headers:
        return
    for name, value in list(case.headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str):
            # Stays within the document's rule: visible ASCII at both ends, at most 255.
            case.headers[name] = f"{value[:200]}-{uuid.uuid4().hex}"
