"""An erbench plugin: every entry is advertised in pyproject.toml's entry points; nothing here
edits erbench itself."""
