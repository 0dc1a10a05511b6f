"""Order of the certification suite: the rules that span transports run last.

pytest runs modules in file-name order, which would put `test_interop.py`
before `test_mqtt.py` and `test_serial.py`. The interop rules drive every
link at once (changes through MQTT are reported on serial, for instance),
and the per-transport rules that judge all the traffic of their link so far
(SER-003, SER-009, MQT-009, MQT-010) must judge the device as that
transport's own rules exercised it, before the cross-transport traffic.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.module.__name__.endswith(".test_interop")
               if item.module else False)
