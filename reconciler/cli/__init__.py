"""The command line: parse arguments, call the engine, hand the result to a view. Nothing else."""
