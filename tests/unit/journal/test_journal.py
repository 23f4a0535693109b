"""The journal on real files: round trips, threads, file descriptors, any sequence of records.

Fan-out records are in test_groups_and_watermarks.py, segments and damage in
test_segments_and_damage.py, flush policies in test_flush_and_config.py.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.journal.on_disk import DELIVERY_BYTES, command, event, segments
from yard_actors.journal import (
    Group,
    Journal,
    JournalConfig,
    JournalEntry,
    Record,
    iter_records,
    read_robot,
    read_robots,
    robots_in,
)

# --- round trips -----------------------------------------------------------------------


def test_two_interleaved_robots_each_read_back_exactly_their_own_history(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"class": "robots.Alpha", "symbols": ["ESZ5"]})
        journal.record_robot("beta", {"class": "robots.Beta", "params": {"qty": 2}})
        first = journal.record_event(b"quote 1")
        journal.record_delivery("alpha", first)
        second = journal.record_event(b"quote 2")
        journal.record_delivery("beta", second)
        journal.record_command("beta", b"buy 2")
        journal.record_delivery("alpha", second)
        journal.record_command("alpha", b"sell 1")

    alpha = read_robot(tmp_path, "alpha")
    beta = read_robot(tmp_path, "beta")

    assert alpha.spec == {"class": "robots.Alpha", "symbols": ["ESZ5"]}
    assert alpha.entries == (event(1, b"quote 1"), event(2, b"quote 2"), command(b"sell 1"))
    assert beta.spec == {"class": "robots.Beta", "params": {"qty": 2}}
    assert beta.entries == (event(2, b"quote 2"), command(b"buy 2"))
    assert robots_in(tmp_path) == ["alpha", "beta"]


def test_a_shared_event_is_stored_once_and_a_delivery_costs_21_bytes(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_command("alpha", b"name alpha")
        journal.record_command("beta", b"name beta")
        seq = journal.record_event(b"a quote for everyone")
        size = segments(tmp_path)[0].stat().st_size
        journal.record_delivery("alpha", seq)
        journal.record_delivery("beta", seq)
        grown = segments(tmp_path)[0].stat().st_size - size

    kinds = [record.kind for record in iter_records(tmp_path)]

    assert kinds == ["command", "command", "event", "delivery", "delivery"]
    assert grown == 2 * DELIVERY_BYTES
    assert read_robot(tmp_path, "beta").entries[-1] == event(seq, b"a quote for everyone")


def test_a_robot_the_journal_never_saw_reads_back_empty(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"quote")

    assert read_robot(tmp_path, "ghost").entries == ()
    assert read_robot(tmp_path, "ghost").spec is None


def test_the_last_spec_journaled_for_a_robot_is_the_one_read_back(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"params": {"qty": 1}})
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"params": {"qty": 5}})

    assert read_robot(tmp_path, "alpha").spec == {"params": {"qty": 5}}
    assert robots_in(tmp_path) == ["alpha"]


def test_iter_records_resolves_robot_names_in_every_record(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("αλφα", {"class": "x"})
        journal.record_delivery("αλφα", journal.record_event(b"q"))
        journal.record_command("αλφα", b"c")

    assert list(iter_records(tmp_path)) == [
        Record(kind="robot", robot="αλφα", spec={"class": "x"}),
        Record(kind="event", seq=1, payload=b"q"),
        Record(kind="delivery", robot="αλφα", seq=1),
        Record(kind="command", robot="αλφα", payload=b"c"),
    ]


# --- threads and file descriptors ------------------------------------------------------


def test_eight_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    rounds = 300
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def run_robot(journal: Journal, robot: str) -> None:
        try:
            start.wait(timeout=10)
            for index in range(rounds):
                seq = journal.record_event(f"{robot} event {index}".encode())
                journal.record_delivery(robot, seq)
                journal.record_command(robot, f"{robot} order {index}".encode())
        except BaseException as exc:  # reported by the test thread below
            failures.append(exc)

    with Journal(tmp_path, JournalConfig(segment_bytes=4096)) as journal:
        threads = [
            threading.Thread(target=run_robot, args=(journal, f"robot-{n}")) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert failures == []
    histories = read_robots(tmp_path, [f"robot-{n}" for n in range(8)])
    for robot, history in histories.items():
        payloads = [entry.payload for entry in history.entries]
        expected = []
        for index in range(rounds):
            expected += [f"{robot} event {index}".encode(), f"{robot} order {index}".encode()]
        assert payloads == expected
    seqs = [record.seq for record in iter_records(tmp_path) if record.kind == "event"]
    assert seqs == list(range(1, 8 * rounds + 1))


def test_a_thousand_robots_are_journaled_through_one_file_descriptor(tmp_path: Path) -> None:
    robots = [f"robot-{n:04d}" for n in range(1000)]
    before = len(os.listdir("/proc/self/fd"))
    most = before
    with Journal(tmp_path, JournalConfig(segment_bytes=32 * 1024)) as journal:
        for robot in robots:
            journal.record_robot(robot, {"class": "robots.Quiet"})
        for round_ in range(5):
            seq = journal.record_event(b"quote %d" % round_)
            for robot in robots:
                journal.record_delivery(robot, seq)
            most = max(most, len(os.listdir("/proc/self/fd")))

    assert most - before <= 2
    assert len(segments(tmp_path)) > 1
    assert robots_in(tmp_path) == robots
    assert read_robot(tmp_path, "robot-0999").entries == tuple(
        event(round_ + 1, b"quote %d" % round_) for round_ in range(5)
    )


# --- any sequence of records reads back exactly ----------------------------------------

ROBOTS = ["alpha", "beta", "γάμμα", "robot with spaces"]
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("robot"),
            st.sampled_from(ROBOTS),
            st.dictionaries(st.text(max_size=6), json_values, max_size=3),
        ),
        st.tuples(st.just("event"), st.binary(max_size=40)),
        st.tuples(
            st.just("fanned"),
            st.lists(
                st.tuples(st.binary(max_size=20), st.sets(st.sampled_from(ROBOTS)), st.booleans()),
                min_size=1,
                max_size=4,
            ),
        ),
        st.tuples(st.just("delivery"), st.sampled_from(ROBOTS), st.integers(0, 10_000)),
        st.tuples(st.just("watermark"), st.sampled_from(ROBOTS), st.integers(0, 10_000)),
        st.tuples(st.just("command"), st.sampled_from(ROBOTS), st.binary(max_size=40)),
        st.tuples(st.just("reopen")),
    ),
    max_size=60,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=operations, segment_bytes=st.sampled_from([64, 1024, 1 << 20]))
def test_any_sequence_of_records_reads_back_exactly(
    operations: list[tuple[Any, ...]], segment_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        config = JournalConfig(segment_bytes=segment_bytes)
        journal = Journal(directory, config)
        events: list[bytes] = []
        records: list[Record] = []
        specs: dict[str, Any] = {}
        entries: dict[str, list[JournalEntry]] = {robot: [] for robot in ROBOTS}
        pending: dict[str, list[int]] = {robot: [] for robot in ROBOTS}  # fanned, not yet taken
        groups: dict[tuple[str, ...], Group] = {}
        for operation in operations:
            match operation:
                case ("robot", robot, spec):
                    journal.record_robot(robot, spec)
                    specs[robot] = spec
                    pending[robot] = []
                    records.append(Record(kind="robot", robot=robot, spec=spec))
                case ("event", payload):
                    events.append(payload)
                    assert journal.record_event(payload) == len(events)
                    records.append(Record(kind="event", seq=len(events), payload=payload))
                case ("fanned", burst):
                    fanned = []
                    for payload, members, new_group in burst:
                        robots = tuple(sorted(members))
                        if new_group or robots not in groups:
                            groups[robots] = Group("topic", robots)
                        fanned.append((payload, groups[robots]))
                        events.append(payload)
                        for robot in robots:
                            pending[robot].append(len(events))
                        record = Record(
                            kind="event", seq=len(events), payload=payload, robots=robots
                        )
                        records.append(attrs.evolve(record, topic="topic"))
                    assert journal.record_fanned(fanned) == len(events) - len(burst) + 1
                case ("watermark", robot, pick) if events:
                    seq = pick % len(events) + 1
                    journal.record_watermark(robot, seq)
                    entries[robot] += [event(s, events[s - 1]) for s in pending[robot] if s <= seq]
                    pending[robot] = [s for s in pending[robot] if s > seq]
                    records.append(Record(kind="watermark", robot=robot, seq=seq))
                case ("delivery", robot, pick) if events:
                    seq = pick % len(events) + 1
                    journal.record_delivery(robot, seq)
                    entries[robot].append(event(seq, events[seq - 1]))
                    records.append(Record(kind="delivery", robot=robot, seq=seq))
                case ("command", robot, payload):
                    journal.record_command(robot, payload)
                    entries[robot].append(command(payload))
                    records.append(Record(kind="command", robot=robot, payload=payload))
                case ("reopen",):
                    journal.close()
                    journal = Journal(directory, config)
        journal.close()

        assert list(iter_records(directory)) == records
        assert robots_in(directory) == list(specs)
        for robot, history in read_robots(directory, ROBOTS).items():
            assert history.spec == specs.get(robot)
            assert list(history.entries) == entries[robot]
