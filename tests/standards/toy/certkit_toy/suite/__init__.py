"""TOY-1.0's suite: one test per rule, run by `certkit run` for a profile that names it."""
