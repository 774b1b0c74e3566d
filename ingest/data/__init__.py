"""Lookup data packaged with ``ingest`` (see README.md beside this file for provenance)."""
