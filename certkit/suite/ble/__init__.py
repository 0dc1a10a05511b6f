"""BLE: Bluetooth LE, GATT and BTHome (ECS-1 section 7)."""
