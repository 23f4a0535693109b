"""The write-ahead journal of a host: one append-only log for all of its robots.

Every event a robot receives is journaled before the robot handles it, so replaying the
journal rebuilds the robot exactly. A host of 1,000 robots must run under ``ulimit -n 1024``,
so a host keeps ONE log (one open file while writing), split into segment files, and a
robot's history is a filtered view of it (:func:`read_robot`). Payloads are the codec's bytes;
the journal never decodes them.

A journal directory holds ``journal-000001.yj``, ``journal-000002.yj``, ... Each
:class:`Journal` starts a new segment, so no run appends to a file that a crash may have left
torn, and rolls to the next one past ``segment_bytes``. A segment is a run of frames,
``[u32 body length][u32 crc32 of body][body]`` little endian, each body led by a kind byte:

=====  ==================================  ==============================================
kind   body after the kind byte            meaning
=====  ==================================  ==============================================
``H``  ``yard`` + u16 format version       first frame of every segment (version 2)
``N``  u32 robot id + UTF-8 name           names a robot id; ids are per segment
``R``  u32 robot id + JSON spec            a robot was added to the host
``E``  u64 seq + payload                   an event; seqs rise by one across segments
``D``  u32 robot id + u64 seq              the robot handled that event (21 bytes framed)
``C``  u32 robot id + payload              the robot emitted that command
``G``  u32 group id + u16 topic length     names a group: the robots a topic's events fan
       + UTF-8 topic + u32 robot ids       out to; ids are per segment, declared before use
``F``  u64 seq + u32 group id + payload    an event fanned out to the group's robots; its
                                           seq is in the same series as ``E`` seqs
``W``  u32 robot id + u64 seq              watermark: the robot handled every fanned event
                                           of its groups up to that seq (21 bytes framed)
``Q``  u32 robot id + u64 seq              quarantine: the event at that seq failed the
                                           robot twice; every replay of the robot skips it
``X``  u32 robot id + JSON note            the robot was restarted in its host (why, who
                                           asked, when): an audit line, read by no replay
=====  ==================================  ==============================================

Why fanned events: a quote for 1,000 robots is one ``F`` record, and each robot writes one
``W`` per run of events it handles (a run is what the data intake drained from its socket in
one go, cut where a timer may fall due: for a robot with timers, at most 1 ms of event time),
so the journal grows with events + robots x runs, not robots x events. Events to one robot
(fills, controls, timers) stay ``E`` + ``D``. A robot's history (:func:`read_robot`) takes
its ``D`` events where the ``D`` stands, and at each ``W`` the fanned events of its groups up
to the ``W``'s seq that no earlier ``W`` took, in seq order; an ``R`` for the robot (added
again, as after a restart) drops the fanned events no ``W`` took before it. That is the
robot's handling order, because the one data intake tells each robot its events in seq
order and the robot writes ``W`` and ``D`` ahead of handling.

What a crash leaves: a robot writes its ``W`` (or the ``D`` records of a run of events
to it alone) *before* handling the run, and a command's ``C`` *after* sending it. So a
``W`` says "handed to the robot", not "handled": a host killed mid-run leaves a ``W``
that covers events the robot never handled, and commands it sent but did not journal.
Reading the journal hands the robot every event its ``W`` and ``D`` records cover, so a
restored robot may be ahead of what it sent; the last ``C`` then lies before the end
of what the replay produces. The host's restore (``yard_actors.host.restore``)
journals the commands the replay produced past the journal's last, sends none of the
orders among them, and asks the gateway about every order still awaiting a report
(``resolve``, ``docs/wire.md`` 4a): the gateway never holds an order the robot does
not know, nor the robot one the gateway never heard of, and the journal holds exactly
the commands the robot produced, in order, so a replay is faithful. The order of ``C``
and send does not matter for that (either window ends the same way); sending first
keeps the journal's write off tick-to-command. What must precede a send is the ``W`` or
``D`` of the event that caused it, and it does: a robot writes them before handling.

Supervision (``docs/supervision.md``): a robot restarted in a running host is rebuilt from its
history, read as above, so a restart writes no ``R`` (which would drop the fanned events
already journaled for its mailbox but not yet under its ``W``), only an ``X`` that no read
of a history looks at. A ``Q`` takes its event out of the robot's history for every later
replay (a host's restore, ``yard replay``), whichever segment holds it.

Version 1 segments (no ``G``, ``F``, ``W``) are still read; a run always writes version 2
(``Q`` and ``X`` were added to version 2: a yard older than them refuses a segment holding
one, saying it was written by a newer yard).
A record cut short or failing its crc at the end of a segment is the torn tail of a crash: it
is skipped with a warning. Damage followed by valid records raises :class:`JournalError`.
"""

from yard_actors.journal.config import FlushPolicy, JournalConfig
from yard_actors.journal.group import Group
from yard_actors.journal.reader import (
    JournalEntry,
    Record,
    RobotJournal,
    iter_records,
    read_robot,
    read_robots,
    robots_in,
)
from yard_actors.journal.writer import Journal

__all__ = [
    "FlushPolicy",
    "Group",
    "Journal",
    "JournalConfig",
    "JournalEntry",
    "Record",
    "RobotJournal",
    "iter_records",
    "read_robot",
    "read_robots",
    "robots_in",
]
