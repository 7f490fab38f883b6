"""Root conftest for this repository's suites only.

The plugin itself is registered by its entry point (`pytest11: basb`); registering it here too
would load it twice.
"""
