"""framing: computational framing analysis of news, paragraph by paragraph."""

__version__ = "0.1.0"
