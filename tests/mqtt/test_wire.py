"""Reading MQTT packets off the DUT's stream: pure, no broker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from certkit.links.mqtt.wire import MqttReader, Will, encode_connect, encode_publish

WILL = Will("homie/5/d/$state", b"lost", 1, True)


def test_connect_and_publish_in_one_chunk():
    stream = encode_connect("dev", will=WILL, keepalive_s=30) + encode_publish(
        "homie/5/d/$state", b"ready", qos=1, retain=True)
    packets = MqttReader().feed(stream)
    assert [p.kind for p in packets] == ["CONNECT", "PUBLISH"]
    connect, publish = packets[0].connect, packets[1].publish
    assert connect.client_id == "dev" and connect.will == WILL and connect.keepalive_s == 30
    assert (publish.topic, publish.payload, publish.qos, publish.retain) == (
        "homie/5/d/$state", b"ready", 1, True)


def test_mqtt_5_properties_are_skipped():
    stream = encode_connect("dev", level=5, will=WILL) + encode_publish(
        "a/b", b"x", qos=2, level=5)
    reader = MqttReader()
    connect, publish = reader.feed(stream)
    assert connect.connect.protocol_level == 5 and connect.connect.will == WILL
    assert (publish.publish.topic, publish.publish.payload, publish.publish.qos) == ("a/b", b"x", 2)


def test_credentials_are_noted_never_kept():
    packet = MqttReader().feed(encode_connect("dev", username="user", password=b"s3cret"))[0]
    assert packet.connect.has_username and packet.connect.has_password
    assert "s3cret" not in repr(packet.connect)


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=8), st.integers(1, 50))
def test_any_chunking_gives_the_same_packets(payloads, chunk):
    stream = encode_connect("dev") + b"".join(
        encode_publish(f"t/{i}", p, qos=i % 3) for i, p in enumerate(payloads))
    reader = MqttReader()
    packets = []
    for at in range(0, len(stream), chunk):
        packets += reader.feed(stream[at:at + chunk])
    assert [p.publish.payload for p in packets[1:]] == payloads
    assert [p.publish.qos for p in packets[1:]] == [i % 3 for i in range(len(payloads))]


def test_a_stream_that_is_not_mqtt_stops_the_reader():
    reader = MqttReader()
    assert reader.feed(b"\x00\x05hello") == []
    assert reader.broken and "does not exist" in reader.broken
    assert reader.feed(encode_connect("dev")) == []


def test_connack_return_code():
    packet = MqttReader().feed(b"\x20\x02\x00\x05")[0]
    assert packet.kind == "CONNACK" and packet.return_code == 5
