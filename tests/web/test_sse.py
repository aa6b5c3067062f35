"""The SSE wire format of ``GET /api/events``: the exact bytes, checked from the reader's side too."""

from __future__ import annotations

from audiofetch.jobs import JOB_STATUS, Broker, Event
from audiofetch.web._live import format_sse, format_sse_comment, sse_bytes


def parse_sse(wire: bytes) -> list[dict[str, str]]:
    """A small reader after the WHATWG event-stream algorithm, to check our bytes from the other side."""
    events: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    data: list[str] = []
    text = wire.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        if line == "":
            if data or fields:
                events.append({**fields, "data": "\n".join(data)})
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields[name] = value
    return events


def test_sse_bytes_for_a_plain_event() -> None:
    assert (
        format_sse("hello", event="job.status", id=7) == b"id: 7\r\nevent: job.status\r\ndata: hello\r\n\r\n"
    )
    assert format_sse("x") == b"data: x\r\n\r\n"


def test_sse_splits_every_kind_of_line_break_in_data() -> None:
    wire = format_sse("one\ntwo\r\nthree\rfour\n", event="e")
    assert wire == b"event: e\r\ndata: one\r\ndata: two\r\ndata: three\r\ndata: four\r\ndata: \r\n\r\n"
    assert parse_sse(wire) == [{"event": "e", "data": "one\ntwo\nthree\nfour\n"}]


def test_sse_strips_line_breaks_from_id_and_event() -> None:
    wire = format_sse("d", event="job.\r\nstatus\n", id="1\r2\n3")
    assert wire == b"id: 123\r\nevent: job.status\r\ndata: d\r\n\r\n"


def test_sse_keeps_unicode_as_utf8() -> None:
    wire = format_sse("Café ♫ 日本語 🎵", event="ünïcode")
    assert wire == "event: ünïcode\r\ndata: Café ♫ 日本語 🎵\r\n\r\n".encode()
    assert parse_sse(wire)[0]["data"] == "Café ♫ 日本語 🎵"


def test_an_event_goes_out_as_compact_json_on_one_data_line() -> None:
    event = Event(42, JOB_STATUS, "abc", {"status": "failed", "error": "Bad\nline ♫"})
    wire = sse_bytes(event)
    expected = (
        'id: 42\r\nevent: job.status\r\ndata: {"id":42,"type":"job.status","job_id":"abc",'
        '"data":{"status":"failed","error":"Bad\\nline ♫"}}\r\n\r\n'
    )
    assert wire == expected.encode()
    (parsed,) = parse_sse(wire)
    assert parsed["id"] == "42" and parsed["event"] == "job.status"
    assert parsed["data"] == event.json_text()


def test_heartbeat_comment_is_ignored_by_readers() -> None:
    assert format_sse_comment() == b": ping\r\n\r\n"
    assert format_sse_comment("a\nb") == b": a b\r\n\r\n"
    assert parse_sse(format_sse_comment() + format_sse("x")) == [{"data": "x"}]


def test_an_event_is_encoded_once_for_every_subscriber() -> None:
    broker = Broker(first_id=1)
    subscribers = [broker.subscribe() for _ in range(3)]
    broker.publish(JOB_STATUS, "j1", {"status": "downloading", "title": "Été"}, owner="client-a")
    received = [subscription.ready()[0] for subscription in subscribers]
    wires = [sse_bytes(event) for event in received]
    assert all(wire is wires[0] for wire in wires)  # encoded on first use, then shared
    assert parse_sse(wires[0])[0]["data"] == received[0].json_text()
    assert b"client-a" not in wires[0]  # the owner rides on the event but is never sent
