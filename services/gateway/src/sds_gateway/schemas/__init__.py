"""Request and response models of the public API (``/api/v1``)."""
