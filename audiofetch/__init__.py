"""AudioFetch: give it the address of a web page, get every audio track on it."""

__version__ = "0.1.0"
