#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drive a guest's balloon over QMP while pressure-demo runs in it.

Usage: tools/qmp-balloon.py SOCKET TEST_LOG GUEST_MIB TARGET_MIB DURING_S AFTER_S

Waits for qemu's QMP socket (vm-run --qmp) and for the line
"pressure-demo: ready" in the guest's output (vm-run's test.log); then asks
the balloon to bring the guest to TARGET_MIB ("balloon"), follows it with
"query-balloon" every 200 ms for DURING_S seconds, gives the memory back
(the guest's full GUEST_MIB) and follows it AFTER_S seconds more, or until
the VM goes.  Prints one line "balloon T_S ACTUAL_MIB" per query, T_S from
the request, and at the end one line
  balloon-result target_mib=N lowest_mib=N reached_s=S|never final_mib=N
where reached_s is when the guest first came within 8 MiB of the target.
"""
import json
import os
import socket
import sys
import time

READY = "pressure-demo: ready"


class Qmp:
    def __init__(self, path, timeout):
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > end:
                    sys.exit(f"qmp-balloon: no QMP socket at {path}")
                time.sleep(0.2)
        self.file = self.sock.makefile("r")
        self.reply()  # the greeting
        self.command("qmp_capabilities")

    def alive(self):
        """Whether qemu still holds its end of the socket."""
        try:
            return self.sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def reply(self):
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def command(self, name, **args):
        self.sock.sendall(json.dumps({"execute": name, "arguments": args}).encode())
        msg = self.reply()
        if "error" in msg:
            raise RuntimeError(f"{name}: {msg['error']}")
        return msg["return"]


def wait_ready(qmp, log, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end and qmp.alive():
        try:
            with open(log, errors="replace") as f:
                if READY in f.read():
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    path, log = sys.argv[1], sys.argv[2]
    guest, target, during, after = (int(a) for a in sys.argv[3:])
    qmp = Qmp(path, 120)
    if not wait_ready(qmp, log, 900):
        sys.exit("qmp-balloon: the guest ended or never said it was ready")
    start = time.monotonic()
    lowest, reached, actual = guest, None, guest
    try:
        qmp.command("balloon", value=target << 20)
        for until, size in ((during, None), (during + after, guest)):
            if size:
                qmp.command("balloon", value=size << 20)
            while time.monotonic() - start < until:
                actual = qmp.command("query-balloon")["actual"] >> 20
                t = time.monotonic() - start
                print(f"balloon {t:.2f} {actual}", flush=True)
                if size is None:
                    lowest = min(lowest, actual)
                    if reached is None and actual <= target + 8:
                        reached = t
                time.sleep(0.2)
    except (EOFError, OSError):
        pass  # the VM is gone: the guest's run is over
    print(f"balloon-result target_mib={target} lowest_mib={lowest} "
          f"reached_s={'never' if reached is None else f'{reached:.1f}'} "
          f"final_mib={actual}")


if __name__ == "__main__":
    main()
