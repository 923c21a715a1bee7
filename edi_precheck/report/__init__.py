"""Reporting: turning claims and findings into CSV, JSON, JSON lines and text."""
