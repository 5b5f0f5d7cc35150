"""The shared vocabulary of tidegate: locations, packages, unknowns. No I/O lives here."""
