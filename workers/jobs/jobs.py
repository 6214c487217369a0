"""Job types served by `robotni serve --jobs workers/jobs/jobs.py`."""

import random
import time

from robotni import BusinessError, job, run


@job("fakejob", schema={"type": "object",
                        "properties": {"delay_seconds": {"type": "number"},
                                       "min_seconds": {"type": "number"}}})
def fakejob(delay_seconds=5, min_seconds=1):
    """Sleeps a random min_seconds..delay_seconds seconds and says how long."""
    if delay_seconds < 0:
        raise BusinessError("delay_seconds must not be negative", code="BAD_DELAY")
    longest = max(1, int(delay_seconds))
    waited = random.randint(min(longest, max(1, int(min_seconds))), longest)
    for second in range(waited):
        if run.is_cancelled():
            raise BusinessError("cancelled", code="CANCELLED")
        run.progress(f"waited {second} of {waited} s")
        time.sleep(1)
    return {"waited": waited}


@job("add", schema={"type": "object",
                    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                    "required": ["x", "y"]})
def add(x, y):
    """Returns x + y."""
    return x + y


def _send(channel, to, body):
    # Simulated delivery: a real worker would call the provider here.
    if not to:
        raise BusinessError(f"{channel}: no recipient", code="NO_RECIPIENT")
    return {"channel": channel, "to": to, "chars": len(body), "status": "sent"}


@job("notify.email.v1", schema={"type": "object",
                                "properties": {"to": {"type": "string"},
                                               "subject": {"type": "string"},
                                               "body": {"type": "string"}},
                                "required": ["to", "subject"]})
def notify_email(to, subject, body=""):
    """Sends an e-mail (simulated)."""
    return _send("email", to, subject + "\n" + body)


@job("notify.sms.v1", schema={"type": "object",
                              "properties": {"to": {"type": "string"},
                                             "text": {"type": "string"}},
                              "required": ["to", "text"]})
def notify_sms(to, text):
    """Sends an SMS (simulated)."""
    return _send("sms", to, text)
