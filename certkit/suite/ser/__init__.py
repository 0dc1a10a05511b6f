"""SER: the MIoT module serial protocol (ECS-1 section 5)."""
