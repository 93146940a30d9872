"""Parties, ground leases and resale records (see the registry issue)."""
