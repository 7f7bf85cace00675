"""The demo data set behind `ordo demo`: realistic reference data and orders in every state."""

from ordo.demo.loader import load_demo

__all__ = ["load_demo"]
