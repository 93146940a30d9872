"""`clt` commands of the leases app (gathered by clt/cli.py)."""

import click

COMMANDS: list[click.Command] = []
