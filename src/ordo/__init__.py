"""Ordo — order management for e-commerce sellers and cross-border logistics providers."""

__version__ = "0.1.0"
