"""`clt` commands of the maps app (gathered by clt/cli.py)."""

import click

COMMANDS: list[click.Command] = []
