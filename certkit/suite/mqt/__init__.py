"""MQT: MQTT, Homie 5 (ECS-1 section 6)."""
