"""newsflow: raw news articles in, clean, validated, versioned Delta Lake datasets out."""

from importlib.metadata import version

__version__ = version("newsflow")
