"""brief: turn a folder of news articles into a sourced intelligence briefing."""

__version__ = "0.1.0"
