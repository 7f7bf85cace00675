"""Printed documents: pick lists, packing slips, shipping labels and the customer order confirmation."""
