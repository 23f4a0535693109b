"""The wire vocabulary every yard process shares: events, instruments, codec, frames, names.

Nothing here starts a thread or imports Pykka, so the gateway and the feed use it alone.
"""
