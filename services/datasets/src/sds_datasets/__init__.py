"""The datasets service: validates and profiles uploaded tables."""
