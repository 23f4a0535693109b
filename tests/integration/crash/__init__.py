"""Crash tests: real processes over tcp, killed with SIGKILL, then checked for consistency."""
