"""Repository-wide pytest wiring.

The certkit plugin is registered through the `pytest11` entry point when
certkit is installed; listing it here also wires it for runs from a checkout
(the entry point is named like the module, so it is never loaded twice).
"""

pytest_plugins = ["certkit.plugin.entry"]
