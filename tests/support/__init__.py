"""Support shared by certkit's tests and benchmarks: where things are (`paths`), the certkit
command as a user runs it (`cli`), a run's results read as data (`results`), a mosquitto
broker of its own (`mosquitto`) and the reference emulators in processes of their own
(`processes`). Nothing here imports pytest, so benchmarks use it too
(`python -m benchmarks.NAME` from the repository root)."""
