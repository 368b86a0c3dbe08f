"""The package version (hatchling reads it from here)."""

#: The package version.
__version__ = "0.1.0"
