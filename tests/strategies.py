"""Hypothesis strategies shared by the property tests (kept apart from helpers.py: only they import hypothesis)."""

from __future__ import annotations

import string

from hypothesis import strategies as st

# Small JSON values of every type, nested a little: what a damaged document may hold instead.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(string.printable, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(string.ascii_lowercase, max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
