"""Readers and writers: JSON, CSV/Excel tables, benchmark formats."""
