"""The pytest side of a gate run: options, the run's state, setting up the environment (`setup`),
the suites' harness and fixtures, outcomes, scope, Ctrl-C handling, the shipped suites, and the
session-end writer that hands the run to `report` and `obsidian` (`reports`). May import every
package below it; only `plugin.py`, `parallel` and `regression` import it.
"""
