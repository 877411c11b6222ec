"""Tests of the configuration layer (reconciler.config): loading, secrets, models, checks, schema."""
