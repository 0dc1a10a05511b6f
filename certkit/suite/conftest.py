"""The link fixtures of the suite's rules, one per transport (`serial`, `mqtt`, `ble`),
each defined in the support module of its family and offered here to every family: the
SEC rules take them too (SEC-003 `mqtt`, SEC-004 `ble`)."""

from certkit.suite.ble.support import ble
from certkit.suite.mqt.support import mqtt
from certkit.suite.ser.support import serial

__all__ = ["ble", "mqtt", "serial"]
