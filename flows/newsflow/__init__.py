"""newsflow: raw news articles in, clean, validated, versioned Delta Lake datasets out.

Importing it changes nothing global: the command sets up its process (newsflow.runtime.environment).
"""

from importlib.metadata import version

__version__ = version("newsflow")
