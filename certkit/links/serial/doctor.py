"""`certkit doctor`'s checks of the serial bench (certkit/doctor.py runs them)."""

from __future__ import annotations

import glob
import grp
import os
import stat

from certkit.doctor import Check, Needs, failed, user_name

SERIAL_GLOBS = ("/dev/ttyUSB*", "/dev/ttyACM*", "/dev/serial/by-id/*")


def serial_ports() -> list[str]:
    return sorted({path for pattern in SERIAL_GLOBS for path in glob.glob(pattern)})


def check_serial(port: str | None, needs: Needs) -> Check:
    needed = "serial" in needs.hardware or port is not None
    present = serial_ports()
    shown = ", ".join(present) or "none"
    if port is None:
        if not needed:
            return Check("serial", "ok", f"not needed: no real DUT on serial here (ports "
                         f"present: {shown})")
        return Check("serial", "fail", f"no --serial given (ports present: {shown})",
                     "--serial PORT, the MCU's port (ls -l /dev/serial/by-id names the boards)")
    if "://" in port:
        return Check("serial", "ok", f"--serial {port}: a pyserial URL (not opened here)")
    try:
        info = os.stat(port)
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
        return failed(needed, "serial", f"--serial {port}: {why} (ports "
                       f"present: {shown})", "plug the board in and check the path "
                       "(ls -l /dev/serial/by-id names the boards)")
    if not stat.S_ISCHR(info.st_mode):
        return failed(needed, "serial", f"--serial {port}: not a character device",
                       "give the serial device, e.g. /dev/ttyUSB0")
    if os.access(port, os.R_OK | os.W_OK):
        return Check("serial", "ok", f"--serial {port}: present, readable and writable "
                     "(not opened: that would reset many boards)")
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    user = user_name()
    members = grp.getgrgid(info.st_gid).gr_mem if _has_group(info.st_gid) else []
    if info.st_gid in os.getgroups():
        fix = f"check the device's mode (ls -l {port}); group {group} should read and write it"
    elif user in members:
        fix = f"{user} was added to group {group} after logging in: log out and in again"
    else:
        fix = (f"sudo usermod -aG {group} {user}, then log out and in again "
               f"(the port belongs to group {group})")
    return failed(needed, "serial", f"--serial {port}: {user} may not open it "
                   f"(owner group {group}, mode {stat.filemode(info.st_mode)})", fix)


def _has_group(gid: int) -> bool:
    try:
        grp.getgrgid(gid)
    except KeyError:
        return False
    return True


