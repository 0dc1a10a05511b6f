"""DSN: the design standard, checked on the profile alone (ECS-1 section 4)."""
