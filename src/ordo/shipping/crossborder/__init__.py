"""Cross-border legs of a shipment: booking, export declaration, international transport, arrival,
customs clearance, last mile. Which legs a shipment goes through is its service type's policy."""
