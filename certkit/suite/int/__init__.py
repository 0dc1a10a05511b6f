"""INT: interoperability across the DUT's transports (ECS-1 section 8)."""
