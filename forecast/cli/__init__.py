"""The command line: the typer app (`app`) and what `forecast watch` follows (`watch`)."""
