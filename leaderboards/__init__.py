"""Table specs and renderers that regenerate the papers' tables from the results store."""
