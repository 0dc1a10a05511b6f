"""Bench files: where each DUT of a lab bench is (docs/bench-files.md).

`load_bench_file(path)` reads and checks one (schema.py generates its JSON Schema from
the table of bench options in certkit/bench.py); `runner.run_bench` certifies its DUTs at
once, each in a `certkit run` process of its own.
"""

from certkit.benchfile.load import BenchFile, BenchFileError, Dut, load_bench_file

__all__ = ["BenchFile", "BenchFileError", "Dut", "load_bench_file"]
