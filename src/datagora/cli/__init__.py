"""Datagora cli layer."""
