"""Parity suite: one list of scenarios, run against the mock and a real Unleash 8.2.0."""
