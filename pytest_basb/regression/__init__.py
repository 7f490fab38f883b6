"""Regression against committed baselines: reading and writing baseline files (`baseline`) and the
regression checks a suite runs on a session (`checks`). May import `run` and everything below it.
"""
