"""Bad inventories of one environment `t`, each with the words its error must contain (the key path and
the fix): loaded directly by the unit tests, and run through pytest by tests/e2e/test_inventory_errors.py."""

from __future__ import annotations

_SVC = "    services:\n      svc: {transport: stdio, command: [python, s.py]}\n"

CASES = {
    "drills-not-allowed-word": (
        "version: 1\nenvironments:\n  t:\n    drills: yes\n" + _SVC,
        ["environments.t.drills", "must be 'allowed'"],
    ),
    "incident-without-max-age": (
        "version: 1\nenvironments:\n  t:\n    incident: {max_age: 3}\n" + _SVC,
        ["environments.t.incident.max_age", "unknown key", "drill_max_age_days"],
    ),
    "unknown-key": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transprot: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t.services.svc.transprot", "unknown key", "did you mean `transport`?"],
    ),
    "wrong-type": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: python s.py\n",
        ["environments.t.services.svc.command", "must be of type array"],
    ),
    "missing-command": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n",
        ["environments.t.services.svc.command", "required for transport stdio"],
    ),
    "missing-url": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: streamable-http\n",
        ["environments.t.services.svc.url", "required for transport streamable-http"],
    ),
    "bad-id": (
        "version: 1\nenvironments:\n  t:\n    services:\n      Bad_Id:\n        transport: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t.services", "Bad_Id", "lowercase"],
    ),
    "unresolved-var": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: streamable-http\n"
        "        url: http://127.0.0.1:1/mcp\n        headers: {Authorization: 'Bearer ${BASB_TEST_UNSET_TOKEN}'}\n",
        ["environments.t.services.svc.headers.Authorization", "BASB_TEST_UNSET_TOKEN", "is not set"],
    ),
    "yaml-syntax": (
        "version: 1\nenvironments:\n  t:\n    services: [unclosed\n",
        ["YAML syntax error", "line"],
    ),
    "bad-transport": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: websocket\n"
        "        url: http://127.0.0.1:1/mcp\n",
        ["environments.t.services.svc.transport", "stdio, streamable-http, sse"],
    ),
    "unknown-environment": (
        "version: 1\nenvironments:\n  tt:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n",
        ["environments.t", "no such environment", "did you mean `tt`?", "--basb-env"],
    ),
    "golden-bad-pointer": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            golden: true\n"
        "            ignore: [modified]\n",
        ["environments.t.services.svc.smoke.0.ignore.0", "is not a JSON pointer", "/modified"],
    ),
    "golden-prompt": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - prompt: p\n            golden: true\n",
        ["environments.t.services.svc.smoke.0.golden", "only tool calls"],
    ),
    "ignore-without-golden": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            ignore: [/at]\n",
        ["environments.t.services.svc.smoke.0.ignore", "add `golden: true`"],
    ),
    "latency-not-positive": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        latency: {p95_ms: 0}\n",
        ["environments.t.services.svc.latency.p95_ms", "must be greater than 0"],
    ),
    "latency-unknown-key": (
        "version: 1\nenvironments:\n  t:\n    services:\n      svc:\n        transport: stdio\n"
        "        command: [python, s.py]\n        smoke:\n          - tool: now\n            latency: {p59_ms: 9}\n",
        ["environments.t.services.svc.smoke.0.latency.p59_ms", "did you mean `p95_ms`?"],
    ),
    "extends-unknown": (
        "version: 1\nenvironments:\n  t:\n    extends: stagign\n  staging:\n    services:\n      svc:\n"
        "        transport: stdio\n        command: [python, s.py]\n",
        ["environments.t.extends", "stagign", "did you mean `staging`?"],
    ),
}
