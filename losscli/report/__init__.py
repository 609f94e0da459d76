"""Rendering results: terminal tables and machine formats. The only package that imports Rich;
it reads results, and nothing but the CLI reads it."""
