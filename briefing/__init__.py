"""brief: turn a folder of news articles into a sourced intelligence briefing."""

__version__ = "0.1.0"

import logging

# A library's loggers stay silent unless the application gives them a handler (the
# CLI's run log, briefing/runlog.py): without this, Python prints errors to stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())
