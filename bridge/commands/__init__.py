"""The CLI's commands, one module each: serve, login, import-cookies, capture, models."""
