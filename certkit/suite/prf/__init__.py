"""PRF: the profile document (ECS-1 section 4)."""
