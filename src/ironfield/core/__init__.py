"""ironfield.core: the platform's vocabulary. No I/O lives here."""
