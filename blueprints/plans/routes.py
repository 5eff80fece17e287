"""Routes of this area."""
