"""refnet\x27s SQLite database backend (Django\x27s, with writers that take turns promptly)."""
