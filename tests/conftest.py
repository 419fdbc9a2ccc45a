"""Shared by every test directory: being here puts tests/ on the import path, so helpers used by
tests in several directories (docsections.py) live once, beside this file."""
