"""What tests share, imported as `tests.support.<module>` (pytest.ini puts the repository root on the path once):
tiny configs (configs), trained runs and exports (runs), CLIs (cli), inputs (videos), model helpers (models),
metric weights (weights), lock holders (locks), file digests (files), skip markers (markers)."""
