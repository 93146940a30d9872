#!/usr/bin/env python
"""Django's manage.py; `clt manage ...` does the same and starts the local database first."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clt.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
