"""The configuration layer: discovery, YAML with line numbers, secrets, pydantic models, cross-checks.

The engine and the CLI call `loader.load_config(path)` and work with the `models.Config` it returns;
`ocpi` holds the OCPI 2.2.1 wire models the providers share. Import modules, not names:

    from reconciler.config import loader, models
    cfg = loader.load_config(Path("examples/colombia"))
"""
