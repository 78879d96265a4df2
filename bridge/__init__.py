"""lmarena-bridge: an OpenAI-compatible API in front of LMArena, through a real browser."""

__version__ = "0.1.0"
