"""The ECS-1 certification suite: one test per rule, parametrized by the plan.

A package per family of the catalogue (`prf`, `dsn`, `sec`, `ser`, `mqt`, `ble`, `int`),
in each a module per rule named after it (`ser/test_ser_004.py` holds
`test_ser_004_get_readable_property`) and the code the family's rules share
(`support.py`; the SEC rules use their transports'). `conftest.py` offers the link
fixtures to every family. When a rule runs is the catalogue's `run-order` alone
(`certkit.plugin.collect.run_order`), not where its test is.

Run it with `certkit run PROFILE`, or with pytest directly:
`pytest --pyargs certkit.suite --certkit-profile PROFILE`.
"""
