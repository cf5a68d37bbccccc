"""Datagora services layer."""
