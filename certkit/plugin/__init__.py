"""certkit's pytest plugin, as a package. pytest loads `certkit.plugin.entry` (the `pytest11`
entry point); the run it starts (`run.CertkitRun`) is registered as a plugin of its own.

  entry.py     the options and the run's start (pytest_configure); the fixtures, found here
  options.py   the --certkit-* options and the bench they describe
  run.py       the run's state and hooks: each instance's outcome, evidence and record
  collect.py   which rule instances each test checks, refusals, deselection, run order
  outcome.py   a test's phases -> its ECS-1 outcome and how it shows (pure)
  fixtures.py  the public fixtures (docs/custom-rules.md)
"""
