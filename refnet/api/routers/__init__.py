"""One router per resource; api.py mounts them."""
