"""Support shared by certkit's tests and benchmarks: where things are (`paths`), the certkit
command as a user runs it (`cli`), a run's results read as data (`results`), a mosquitto
broker of its own (`mosquitto`), the reference emulators and other children (a lab's parts)
in processes of their own (`processes`), a Chromium page for what certkit draws (`chromium`)
and the test tree's own packages installed where dev/test did not (`packages`). Nothing here
but its own tests (test_*.py) imports pytest, so benchmarks use it too (`python -m
benchmarks.NAME` from the repository root)."""
