# Copyright (c) CloudForge maintainers
# SPDX-License-Identifier: Apache-2.0
"""Report each task as it starts to the file named by CLOUDFORGE_FAULT_EVENTS, and wait for the test's answer.

Test harness only (tests/testbed/faults.py, run_watched): one JSON line per task start, then the callback waits
until ``<file>.ack`` holds that line's number, so the test's fault is in place before the task goes on. Without the
variable it does nothing.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: cloudforge_fault_events
type: notification
short_description: tells the fault-injection tests which task starts, and waits for them
description: Test harness only (tests/testbed/faults.py).
"""

ACK_SECONDS = 120


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "cloudforge_fault_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.path = os.environ.get("CLOUDFORGE_FAULT_EVENTS")
        self.seq = 0

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._report("task_start", task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._report("task_start", task.get_name())

    def _report(self, event, name):
        if not self.path:
            return
        self.seq += 1
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"seq": self.seq, "event": event, "task": name, "pid": os.getpid()}) + "\n")
        deadline = time.monotonic() + ACK_SECONDS
        while time.monotonic() < deadline:
            try:
                with open(f"{self.path}.ack", encoding="utf-8") as handle:
                    if int(handle.read() or 0) >= self.seq:
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.01)
