"""Dân vận khéo reporting warehouse."""
