"""The engine: three-way diff, planner and executor. Platform details live in the providers."""
