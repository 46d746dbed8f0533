"""Network topology learned from the outputs people already have."""
