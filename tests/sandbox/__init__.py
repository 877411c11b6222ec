"""Tests of the platform simulators (reconciler.sandbox)."""
