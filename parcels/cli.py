"""`clt` commands of the parcels app (gathered by clt/cli.py)."""

import click

COMMANDS: list[click.Command] = []
