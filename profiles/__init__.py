"""The example profiles, installed with certkit as the package `certkit.examples`.

This file only makes the folder a package for that mapping (pyproject.toml):
`certkit examples` lists them, `certkit init EXAMPLE` copies one.
"""
