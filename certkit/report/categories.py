"""Allure categories: device failures (timing apart from values) and lab errors.

ECS-1 `fail` shows in Allure as "failed" and `error` as "broken"; these
categories name them for reviewers. Written as `categories.json` into the
results (Allure 2) and into the configuration `certkit report` gives Allure 3.
"""

# Allure tries categories in order; the first that matches names the failure.
CATEGORIES = [
    {"name": "Device failures: timing", "matchedStatuses": ["failed"],
     "messageRegex": r"[\s\S]*\b(within|latency|median|p95|interval|gap|timed out)\b[\s\S]*",
     "description": "The DUT answered too late, too often or not at all."},
    {"name": "Device failures: values and behaviour", "matchedStatuses": ["failed"],
     "description": "The DUT broke a rule of the standard."},
    {"name": "Lab and harness errors", "matchedStatuses": ["broken"],
     "description": "The bench or certkit could not carry the check out; not the DUT's fault."},
    {"name": "Not applicable", "matchedStatuses": ["skipped"]},
]
