"""Datagora domain layer."""
