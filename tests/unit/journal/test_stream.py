"""The forward streaming read gives each robot the history the backward read gives."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from yard_actors.errors import JournalError
from yard_actors.journal import Group, Journal, JournalConfig, JournalEntry, read_robots
from yard_actors.journal.index import index_journal
from yard_actors.journal.stream import stream_runs

ROBOTS = ("alpha", "beta", "gamma", "delta")


def write_random_journal(  # noqa: PLR0912  # one branch per thing a host does, side by side
    directory: Path, seed: int, steps: int = 600
) -> None:
    """A journal as hosts write it: intakes fan out or deliver, robots take runs off mailboxes."""
    rng = random.Random(seed)
    groups = [Group("Si", ("alpha", "beta", "gamma")), Group("RTS", ("beta", "delta"))]
    mailbox: dict[str, list[tuple[int, bool]]] = {robot: [] for robot in ROBOTS}
    handled: dict[str, list[int]] = {robot: [] for robot in ROBOTS}
    config = JournalConfig(segment_bytes=2048)
    with Journal(directory, config=config) as journal:
        for robot in ROBOTS:
            journal.record_robot(robot, {"name": robot, "class": "x:Y"})
        for n in range(steps):
            action = rng.random()
            if action < 0.3:
                burst = [(b"q%d" % n, rng.choice(groups)) for _ in range(rng.randint(1, 4))]
                first = journal.record_fanned(burst)
                for offset, (_, group) in enumerate(burst):
                    for robot in group.robots:
                        mailbox[robot].append((first + offset, True))
            elif action < 0.45:
                takers = rng.sample(ROBOTS, rng.randint(1, 2))
                first = journal.record_events([b"e%d" % n, b"f%d" % n])
                for robot in takers:
                    mailbox[robot] += [(first, False), (first + 1, False)]
            elif action < 0.85:
                robot = rng.choice(ROBOTS)
                box = mailbox[robot]
                if not box:
                    continue
                fanned = box[0][1]
                take = 0
                while take < len(box) and box[take][1] == fanned and take < rng.randint(1, 5):
                    take += 1
                run, mailbox[robot] = box[:take], box[take:]
                if fanned:
                    journal.record_watermark(robot, run[-1][0])
                else:
                    journal.record_deliveries(robot, [seq for seq, _ in run])
                handled[robot] += [seq for seq, _ in run]
                for k in range(rng.randint(0, 2)):
                    journal.record_command(robot, b"%s c%d.%d" % (robot.encode(), n, k))
            elif action < 0.93:
                robot = rng.choice(ROBOTS)
                seq = journal.record_event(b"timer %d" % n)
                journal.record_delivery(robot, seq)
                handled[robot].append(seq)
                journal.record_command(robot, b"%s on timer %d" % (robot.encode(), n))
            elif action < 0.97:
                robot = rng.choice(ROBOTS)
                journal.record_robot(robot, {"name": robot, "class": "x:Y", "run": n})
                mailbox[robot] = []
            elif handled[robot := rng.choice(ROBOTS)]:
                journal.record_quarantine(robot, rng.choice(handled[robot]))


def streamed(
    directory: Path, robots: tuple[str, ...], window: int = 1 << 16
) -> dict[str, list[JournalEntry]]:
    entries: dict[str, list[JournalEntry]] = {robot: [] for robot in robots}
    for run in stream_runs(directory, robots, window=window):
        entries[run.robot] += [JournalEntry(kind="event", seq=s, payload=p) for s, p in run.events]
        entries[run.robot] += [
            JournalEntry(kind="command", seq=None, payload=c) for c in run.commands
        ]
    return entries


@pytest.mark.parametrize("seed", range(12))
def test_the_forward_read_gives_every_robot_the_backward_reads_history(
    tmp_path: Path, seed: int
) -> None:
    write_random_journal(tmp_path, seed)

    histories = read_robots(tmp_path, ROBOTS)
    forward = streamed(tmp_path, ROBOTS)

    assert len(list(tmp_path.glob("journal-*.yj"))) > 1
    for robot in ROBOTS:
        assert forward[robot] == list(histories[robot].entries), robot


def test_the_forward_read_of_one_robot_is_its_share_of_the_read_of_all(tmp_path: Path) -> None:
    write_random_journal(tmp_path, seed=99)

    alone = streamed(tmp_path, ("beta",))["beta"]

    assert alone == streamed(tmp_path, ROBOTS)["beta"]


def test_the_index_holds_each_robots_last_spec_and_its_quarantines(tmp_path: Path) -> None:
    write_random_journal(tmp_path, seed=5)

    index = index_journal(tmp_path)
    histories = read_robots(tmp_path, ROBOTS)

    assert index.robots == ROBOTS
    for robot in ROBOTS:
        assert index.specs[robot] == histories[robot].spec
        assert index.quarantined_of(robot) == histories[robot].quarantined


def test_a_delivery_farther_back_than_the_window_is_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {})
        first = journal.record_events([b"e%d" % n for n in range(50)])
        journal.record_delivery("alpha", first)

    with pytest.raises(JournalError, match=r"more than 10 events after event 1.*larger window"):
        list(stream_runs(tmp_path, ["alpha"], window=10))
    assert [run.events for run in stream_runs(tmp_path, ["alpha"], window=100)] == [
        ((first, b"e0"),)
    ]


@pytest.mark.parametrize("part_bytes", [1, 64, 700])
def test_a_read_verifying_segments_in_parts_yields_the_same_runs(
    tmp_path: Path, part_bytes: int
) -> None:
    write_random_journal(tmp_path, seed=11)

    parts = list(stream_runs(tmp_path, ROBOTS, part_bytes=part_bytes))

    assert parts == list(stream_runs(tmp_path, ROBOTS))


def test_damage_found_in_a_later_part_is_raised_as_a_whole_read_raises_it(
    tmp_path: Path,
) -> None:
    write_random_journal(tmp_path, seed=4)
    segment = sorted(tmp_path.glob("journal-*.yj"))[0]
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))

    with pytest.raises(JournalError) as whole:
        list(stream_runs(tmp_path, ROBOTS))
    with pytest.raises(JournalError) as parts:
        list(stream_runs(tmp_path, ROBOTS, part_bytes=100))

    assert str(parts.value) == str(whole.value)
