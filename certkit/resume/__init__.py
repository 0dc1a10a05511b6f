"""`certkit run --resume OUT`: re-run what an earlier run left in `error` or never ran, and
merge the attempts into one verdict (docs/records.md, "Reruns that merge").

- `earlier.py`: the earlier run's folder read and checked (its profile, bench and suite);
- `merge.py`: the merged verdict document (pure);
- `command.py`: the command's flow (folders, the run of the instances, outputs).
"""
