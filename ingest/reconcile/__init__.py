"""Reconciliation: from publishers who disagree to one attested figure per place, day and metric."""
