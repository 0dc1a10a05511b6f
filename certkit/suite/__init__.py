"""The ECS-1 certification suite: one test per rule, parametrized by the plan.

Run it with `certkit run PROFILE`, or with pytest directly:
`pytest --pyargs certkit.suite --certkit-profile PROFILE`.
"""
