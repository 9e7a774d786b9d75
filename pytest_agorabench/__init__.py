"""pytest-agorabench."""
