"""SEC: robustness and security (ECS-1 section 9)."""
