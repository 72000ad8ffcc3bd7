"""Compliance outputs as documents: one neutral form, rendered as HTML or PDF."""
