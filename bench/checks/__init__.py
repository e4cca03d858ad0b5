"""Checks that need no work done: each a plain function raising one clear BenchError line, run
by the runner before any data is read or model built (and by a preflight, where there is one)."""
