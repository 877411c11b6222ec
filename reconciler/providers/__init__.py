"""Platform providers: the only code that talks to the platforms (through `providers.http`)."""
