"""Loading reference data: Heihe's divisions and courts, and service-point rosters."""
