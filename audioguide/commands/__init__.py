"""The command line's parts beyond cli.py, which holds the group and the commands of building: what
every command shares (terminal.py), `translate` (translate.py) and `export` (export.py)."""
