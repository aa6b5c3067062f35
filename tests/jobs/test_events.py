"""The event broker: ordering, filtering, replay, snapshots, slow subscribers, throttling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from audiofetch.jobs import (
    JOB_COMPLETED,
    JOB_SNAPSHOT,
    JOB_STATUS,
    TRACK_PROGRESS,
    Broker,
    Event,
    Subscription,
)


async def queued(subscription: Subscription) -> list[Event]:
    """Read the events that are ready (a few loop turns allowed); the subscription stays open."""
    events: list[Event] = []
    while True:
        task = asyncio.ensure_future(anext(subscription))
        for _ in range(10):
            await asyncio.sleep(0)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return events
        events.append(task.result())


# -- delivery ----------------------------------------------------------------------------------------


async def test_events_arrive_in_publish_order_with_increasing_ids() -> None:
    broker = Broker(first_id=1)
    async with broker.subscribe() as subscription:
        sent = [broker.publish(JOB_STATUS, f"job{i % 3}", {"n": i}) for i in range(50)]
        received = await queued(subscription)
    assert received == sent
    assert [event.id for event in received] == list(range(1, 51))
    assert broker.last_id == 50
    assert subscription.closed


async def test_ids_start_from_the_clock_so_a_new_process_continues_upward() -> None:
    before = time.time_ns() // 1000
    event = Broker().publish(JOB_STATUS, "a")
    assert before <= event.id <= time.time_ns() // 1000 + 1


async def test_a_job_filter_delivers_only_that_job() -> None:
    broker = Broker()
    only_b = broker.subscribe(job_id="b")
    every = broker.subscribe()
    for job_id in "abcab":
        broker.publish(JOB_STATUS, job_id)
    assert [event.job_id for event in await queued(only_b)] == ["b", "b"]
    assert [event.job_id for event in await queued(every)] == list("abcab")


async def test_waiting_subscriber_wakes_up_and_cancelled_waits_lose_nothing() -> None:
    broker = Broker()
    subscription = broker.subscribe()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await anext(subscription)
    waiter = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0)
    event = broker.publish(JOB_STATUS, "a")
    assert await waiter == event


# -- Last-Event-ID -----------------------------------------------------------------------------------


async def test_last_event_id_replays_what_was_missed_then_goes_live() -> None:
    broker = Broker(first_id=1)
    sent = [broker.publish(JOB_STATUS, "a" if i % 2 else "b", {"n": i}) for i in range(6)]
    subscription = broker.subscribe(last_event_id=str(sent[2].id))
    live = broker.publish(JOB_COMPLETED, "a")
    assert await queued(subscription) == [*sent[3:], live]

    filtered = broker.subscribe(job_id="a", last_event_id=sent[0].id)
    assert await queued(filtered) == [sent[1], sent[3], sent[5], live]

    caught_up = broker.subscribe(last_event_id=live.id)
    assert await queued(caught_up) == []


async def test_an_id_older_than_the_buffer_gets_snapshots_first() -> None:
    asked: list[str | None] = []

    async def snapshot(job_id: str | None) -> Iterable[tuple[str, Mapping[str, Any]]]:
        asked.append(job_id)
        await asyncio.sleep(0)
        return [("a", {"status": "downloading"}), ("b", {"status": "completed"})]

    broker = Broker(snapshot=snapshot, buffer_size=3, first_id=1)
    for i in range(10):
        broker.publish(JOB_STATUS, "a", {"n": i})
    subscription = broker.subscribe(last_event_id=2)
    live = broker.publish(JOB_STATUS, "a", {"n": 10})
    received = await queued(subscription)
    assert asked == [None]
    assert [(e.type, e.job_id, e.id) for e in received[:2]] == [
        (JOB_SNAPSHOT, "a", 10),
        (JOB_SNAPSHOT, "b", 10),
    ]
    assert received[0].data == {"status": "downloading"}
    assert received[2:] == [live]

    for stale in ("garbage", 10**18, 0):
        other = broker.subscribe(job_id="a", last_event_id=stale)
        assert [e.type for e in await queued(other)][:2] == [JOB_SNAPSHOT, JOB_SNAPSHOT]
    assert asked[1:] == ["a", "a", "a"]


async def test_without_a_snapshot_function_a_stale_id_just_goes_live() -> None:
    broker = Broker(buffer_size=2, first_id=1)
    for _ in range(5):
        broker.publish(JOB_STATUS, "a")
    subscription = broker.subscribe(last_event_id=1)
    live = broker.publish(JOB_STATUS, "a")
    assert await queued(subscription) == [live]


# -- slow subscribers --------------------------------------------------------------------------------


async def test_a_slow_subscriber_gets_merged_progress_and_every_status() -> None:
    broker = Broker(queue_size=8, progress_rate=1000)
    slow = broker.subscribe()
    fast = broker.subscribe()
    fast_seen: list[Event] = []
    broker.publish(JOB_STATUS, "a", {"status": "downloading"})
    for step in range(200):
        broker.publish_progress("a", 1 + step % 2, final=True, bytes_done=step)
        fast_seen.extend(await queued(fast))
    broker.publish(JOB_COMPLETED, "a", {"status": "completed"})
    fast_seen.extend(await queued(fast))

    assert len(fast_seen) == 202
    got = await queued(slow)
    assert [e.type for e in got] == [JOB_STATUS, TRACK_PROGRESS, JOB_COMPLETED]
    assert got[1].data == {"tracks": [{"index": 1, "bytes_done": 198}, {"index": 2, "bytes_done": 199}]}
    assert got[1].id < got[2].id
    assert slow.merged == 199 and not slow.closed


async def test_a_subscriber_that_overflows_is_closed_without_touching_others() -> None:
    broker = Broker(queue_size=4)
    slow = broker.subscribe()
    fast = broker.subscribe()
    fast_seen: list[Event] = []
    sent = []
    for i in range(10):
        sent.append(broker.publish(JOB_STATUS, "a", {"n": i}))
        fast_seen.extend(await queued(fast))
    assert fast_seen == sent and not fast.closed
    assert slow.closed and slow.closed_reason is not None and "too slow" in slow.closed_reason
    assert [e async for e in slow] == sent[:4]
    later = broker.publish(JOB_STATUS, "a", {"n": 10})
    assert await queued(fast) == [later] and [e async for e in slow] == []
    resumed = broker.subscribe(last_event_id=sent[3].id)
    assert await queued(resumed) == [*sent[4:], later]


async def test_close_ends_every_subscription_with_a_reason() -> None:
    broker = Broker()
    subscription = broker.subscribe()
    reader = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0)
    broker.close()
    with pytest.raises(StopAsyncIteration):
        await reader
    assert subscription.closed_reason == "the server is shutting down"
    late = broker.subscribe()
    assert late.closed and [e async for e in late] == []


# -- progress throttling -----------------------------------------------------------------------------


async def test_progress_is_throttled_and_the_last_update_always_arrives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rate = 4.0
    broker = Broker(progress_rate=rate)
    subscription = broker.subscribe()
    loop = asyncio.get_running_loop()
    frozen = loop.time()
    monkeypatch.setattr(loop, "time", lambda: frozen)  # the broker's clock: no wall time enters the count
    started = loop.time()
    for step in range(1000):
        broker.publish_progress("a", 1 + step % 3, bytes_done=step, size=1000)
    elapsed = loop.time() - started
    monkeypatch.undo()  # the clock runs again, so the held-back update goes out
    first = await anext(subscription)
    assert first.type == TRACK_PROGRESS and first.data == {
        "tracks": [{"index": 1, "bytes_done": 0, "size": 1000}]
    }
    events = [first]
    while not any(track["bytes_done"] == 999 for track in events[-1].data["tracks"]):
        async with asyncio.timeout(10):
            events.append(await anext(subscription))
    assert len(events) <= 2 + elapsed * rate
    assert events[-1].data == {
        "tracks": [
            {"index": 1, "bytes_done": 999, "size": 1000},
            {"index": 2, "bytes_done": 997, "size": 1000},
            {"index": 3, "bytes_done": 998, "size": 1000},
        ]
    }


async def test_final_progress_and_status_events_flush_pending_progress_first() -> None:
    broker = Broker(progress_rate=1.0)
    subscription = broker.subscribe()
    seen: list[tuple[str, str, Mapping[str, Any]]] = []

    async def step() -> None:
        seen.extend((e.type, e.job_id, e.data) for e in await queued(subscription))

    broker.publish_progress("a", 1, bytes_done=0)
    await step()
    broker.publish_progress("a", 1, bytes_done=50)
    await step()
    broker.publish_progress("a", 1, bytes_done=100, status="done", final=True)
    await step()
    broker.publish_progress("a", 2, bytes_done=7)
    await step()
    broker.publish_progress("b", 1, bytes_done=1)
    await step()
    broker.publish(JOB_COMPLETED, "a", {"status": "completed"})
    await step()
    assert seen == [
        (TRACK_PROGRESS, "a", {"tracks": [{"index": 1, "bytes_done": 0}]}),
        (TRACK_PROGRESS, "a", {"tracks": [{"index": 1, "bytes_done": 100, "status": "done"}]}),
        (TRACK_PROGRESS, "b", {"tracks": [{"index": 1, "bytes_done": 1}]}),
        (TRACK_PROGRESS, "a", {"tracks": [{"index": 2, "bytes_done": 7}]}),
        (JOB_COMPLETED, "a", {"status": "completed"}),
    ]
    broker.close()


async def test_an_event_is_encoded_once_for_every_subscriber() -> None:
    broker = Broker(first_id=1)
    subscribers = [broker.subscribe() for _ in range(3)]
    broker.publish(JOB_STATUS, "j1", {"status": "downloading", "title": "Été"})

    received = [(await queued(s))[0] for s in subscribers]

    assert all(event is received[0] for event in received)  # one object, not a copy per subscriber
    texts = [event.json_text() for event in received]
    assert all(text is texts[0] for text in texts)  # encoded on first use, then shared


async def test_the_owner_a_publisher_names_rides_on_the_jobs_later_events_and_is_never_sent() -> None:
    broker = Broker(first_id=1, progress_rate=1000.0)
    subscription = broker.subscribe()
    broker.publish(JOB_STATUS, "anon", {"status": "queued"})
    broker.publish(JOB_STATUS, "j1", {"status": "queued"}, owner="client-a")
    broker.publish(JOB_STATUS, "j1", {"status": "downloading"})
    broker.publish_progress("j1", 1, final=True, bytes_done=5)
    broker.publish(JOB_COMPLETED, "j1", {"status": "completed"})

    events = await queued(subscription)

    assert [(e.job_id, e.owner) for e in events] == [("anon", None)] + [("j1", "client-a")] * 4
    assert all("client-a" not in e.json_text() for e in events)


async def test_ready_hands_over_what_queued_meanwhile_in_order_without_waiting() -> None:
    broker = Broker(first_id=1, progress_rate=1000.0)
    subscription = broker.subscribe()
    broker.publish(JOB_STATUS, "j1", {"status": "queued"})
    broker.publish_progress("j1", 1, final=True, bytes_done=5)
    broker.publish(JOB_STATUS, "j2", {"status": "queued"})

    first = await anext(subscription)
    rest = subscription.ready()

    assert [(e.type, e.job_id) for e in [first, *rest]] == [
        (JOB_STATUS, "j1"), (TRACK_PROGRESS, "j1"), (JOB_STATUS, "j2"),
    ]  # fmt: skip
    assert subscription.ready() == []
    assert [e.id for e in rest] == sorted(e.id for e in rest)
