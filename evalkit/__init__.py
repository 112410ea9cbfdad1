"""evalkit: evaluation and regression harness for AI conversational forms."""

__version__ = "0.1.0"
