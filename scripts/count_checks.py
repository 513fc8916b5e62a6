#!/usr/bin/env python3
"""Prints "PASSED FAILED" for one meson test log (testlog.json).

Each Check program reports "NN%: Checks: C, Failures: F, Errors: E"; those
counts are summed. A program that ended without that line (a crash, a
sanitizer abort, a timeout) counts as one failure."""
import json
import re
import sys

LINE = re.compile(r"^\d+%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", re.M)
passed = failed = 0
try:
    with open(sys.argv[1], encoding="utf-8") as log:
        for raw in log:
            test = json.loads(raw)
            m = LINE.search(test.get("stdout", "") or "")
            if m:
                checks, failures, errors = (int(g) for g in m.groups())
                passed += checks - failures - errors
                failed += failures + errors
                if test.get("result") != "OK" and failures + errors == 0:
                    failed += 1
            elif test.get("result") != "OK":
                failed += 1
except OSError:
    failed += 1
print(passed, failed)
