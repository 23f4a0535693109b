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
``H``  ``yard`` + u16 format version       first frame of every segment
``N``  u32 robot id + UTF-8 name           names a robot id; ids are per segment
``R``  u32 robot id + JSON spec            a robot was added to the host
``E``  u64 seq + payload                   an event; seqs rise by one across segments
``D``  u32 robot id + u64 seq              the robot handled that event (21 bytes framed)
``C``  u32 robot id + payload              the robot emitted that command
=====  ==================================  ==============================================

A record cut short or failing its crc at the end of a segment is the torn tail of a crash: it
is skipped with a warning. Damage followed by valid records raises :class:`JournalError`.
"""

from yard_actors.journal.reader import (
    JournalEntry,
    Record,
    RobotJournal,
    iter_records,
    read_robot,
    read_robots,
    robots_in,
)
from yard_actors.journal.writer import FlushPolicy, Journal, JournalConfig

__all__ = [
    "FlushPolicy",
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
