"""From posterior draws and resolved scenarios to exhaustion dates: inputs, paths, switches, crossings, tables."""
