"""Datagora chain layer."""
