"""`python -m tests.lab.powered_mcu PROFILE`: the reference MCU behind a network power outlet.

The outlet speaks the protocol of labgrid's `rest` power model (NetworkPowerPort, model
`rest`): GET /outlet/0 answers `1` (on) or `0` (off); PUT /outlet/0 with `0` or `1` switches
it. Switching it off cuts the MCU's power (it falls silent); on, it boots and announces
itself. Prints its pty (`port:`), its reset command (`reset:`, SIGUSR1 as the plain emulator)
and the outlet (`power:`, labgrid's host URL); logs each switch (`outlet: off`). Runs until
SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from certkit_emulators.serial import SerialEmulator

from certkit.design import lint_file

START_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
OUTLET = "/outlet/0"


def main(argv: list[str]) -> int:
    profile = lint_file(argv[0]).profile
    if profile is None:
        print(f"powered_mcu: {argv[0]} fails lint", file=sys.stderr)
        return 2
    emulator = SerialEmulator(profile)
    powered = threading.Event()
    switching = threading.Lock()

    class Outlet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != OUTLET:
                self.send_error(404)
                return
            self._answer(b"1" if powered.is_set() else b"0")

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).strip()
            if self.path != OUTLET or body not in (b"0", b"1"):
                self.send_error(400)
                return
            with switching:
                if body == b"1":
                    powered.set()
                    emulator.power_on()
                else:
                    powered.clear()
                    emulator.power_off()
                print(f"outlet: {'on' if body == b'1' else 'off'}", flush=True)
            self._answer(body)

        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Outlet)
    done = threading.Event()
    reset_wanted = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGUSR1, lambda *_: reset_wanted.set())
    emulator.start(START_TIMEOUT_S)
    powered.set()
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    print(f"port: {emulator.port}", flush=True)
    print(f"reset: kill -USR1 {os.getpid()}", flush=True)
    print(f"power: http://127.0.0.1:{server.server_address[1]}/outlet/{{index}}", flush=True)
    try:
        while not done.wait(0.1):
            if reset_wanted.is_set():
                reset_wanted.clear()
                emulator.reset(START_TIMEOUT_S)
    finally:
        server.shutdown()
        server.server_close()
        emulator.stop(STOP_TIMEOUT_S)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
