"""The HTTP server: the app factory, its routes, guards and the OpenAI shapes it speaks."""

from .app import create_app

__all__ = ["create_app"]
