"""`certkit doctor`'s checks of the MQTT bench (certkit/doctor.py runs them)."""

from __future__ import annotations

import errno
import re
import shutil
import socket

from certkit.bench import Endpoint
from certkit.doctor import CONNECT_TIMEOUT_S, Check, Needs, accepts, failed, importable, output
from certkit.links.mqtt.transport import mosquitto_path


def mosquitto_version(path: str) -> str | None:
    _, text = output([path, "-h"])  # prints its version and usage, exits 3
    found = re.search(r"mosquitto version (\S+)", text)
    return found.group(1) if found else None


def check_broker(choice: str | None, needs: Needs) -> Check:
    """The broker a run would put behind its endpoint (certkit/links/mqtt/broker.py)."""
    needed = "mqtt" in needs.wanted
    if choice and not choice.startswith("embedded:"):
        host_port = choice.split("://", 1)[1]
        host, _, port = host_port.rpartition(":")
        default = 8883 if choice.startswith("mqtts") else 1883
        host, port_number = (host, int(port)) if port.isdigit() else (host_port, default)
        if accepts(host.strip("[]"), port_number):
            return Check("mqtt-broker", "ok", f"a run would use the external broker {choice}, "
                         "which accepts connections")
        return failed(needed, "mqtt-broker", f"the external broker {choice} does not accept "
                       f"connections (within {CONNECT_TIMEOUT_S:g} s)",
                       "start it or correct --mqtt-broker; without --mqtt-broker a run embeds "
                       "mosquitto or amqtt")
    path = mosquitto_path()
    if choice == "embedded:amqtt" or (choice is None and path is None):
        if not importable("amqtt"):
            return failed(needed, "mqtt-broker", "a run would embed amqtt, which is not installed",
                           "pip install certkit (it depends on amqtt), or apt-get install "
                           "mosquitto")
        if choice is None:
            return Check("mqtt-broker", "warn", "a run would embed amqtt: mosquitto is not "
                         "installed, and amqtt speaks MQTT 3.1.1 only",
                         "apt-get install mosquitto (MQTT 3.1, 3.1.1 and 5) for DUTs that "
                         "speak MQTT 5")
        return Check("mqtt-broker", "ok", "a run would embed amqtt (MQTT 3.1.1)")
    if path is None:  # embedded:mosquitto asked for
        return failed(needed, "mqtt-broker", "--mqtt-broker embedded:mosquitto: mosquitto is "
                       "not installed", "apt-get install mosquitto, or --mqtt-broker "
                       "embedded:amqtt")
    version = mosquitto_version(path)
    if version is None:
        return failed(needed, "mqtt-broker", f"{path} does not run as mosquitto", "reinstall "
                       "mosquitto (apt-get install --reinstall mosquitto)")
    where = "" if shutil.which("mosquitto") else " (not on the PATH; found where Debian puts it)"
    return Check("mqtt-broker", "ok", f"a run would embed mosquitto {version} ({path}){where}")


def check_listen(endpoint: Endpoint | None, needs: Needs) -> Check:
    """Where the DUT connects: it must be given for a real DUT, and free."""
    needed = "mqtt" in needs.hardware or endpoint is not None
    if endpoint is None:
        if "mqtt" not in needs.hardware:
            return Check("mqtt-listen", "ok", "not needed: no real DUT speaks MQTT on this bench")
        return Check("mqtt-listen", "fail", "no --mqtt-listen: the endpoint would listen on a "
                     "random loopback port, which a real DUT cannot reach",
                     "--mqtt-listen HOST:PORT, the address the DUT's firmware connects to "
                     "(e.g. 0.0.0.0:1883)")
    try:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the endpoint does
            probe.bind((endpoint.host, endpoint.port))
            probe.listen(1)
    except OSError as exc:
        fixes: dict[int | None, tuple[str, str]] = {
            errno.EADDRINUSE: (f"port {endpoint.port} is already in use by another process",
                               (f"stop it (ss -ltnp 'sport = :{endpoint.port}' names it) or "
                               "choose another port (and configure the DUT for it)")),
            errno.EADDRNOTAVAIL: (f"{endpoint.host} is not an address of this machine",
                                  ("use one of this machine's addresses (ip -brief address), "
                                  "or 0.0.0.0 for all of them")),
            errno.EACCES: (f"port {endpoint.port} needs privileges to listen on",
                           "use a port above 1023, or grant CAP_NET_BIND_SERVICE"),
        }
        detail, fix = fixes.get(exc.errno, (f"cannot listen there ({exc.strerror})",
                                            "choose another HOST:PORT"))
        return failed(needed, "mqtt-listen", f"--mqtt-listen {endpoint}: {detail}", fix)
    if endpoint.port == 0:
        return Check("mqtt-listen", "warn", f"--mqtt-listen {endpoint}: a free port is chosen "
                     "when the run starts", "give a fixed port that the DUT is configured for")
    return Check("mqtt-listen", "ok", f"--mqtt-listen {endpoint} is free to listen on")


