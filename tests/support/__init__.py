"""Test helpers shared by every test module (fixtures are registered in tests/conftest.py)."""
