"""Callister: the server and browser client for Infinity, an endless multiplayer space universe."""

__version__ = "0.1.0"
