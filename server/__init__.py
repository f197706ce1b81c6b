"""Palabre: a y-websocket compatible, durable, collaborative whiteboard server."""

__version__ = "0.1.0"
