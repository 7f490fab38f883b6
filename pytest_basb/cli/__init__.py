"""Console scripts: `basb-baseline` (`baseline`) and `basb-log` (`log`). Each parses arguments, calls
the library, and exits 0 (ok), 1 (the answer is no) or 2 (bad input). Top layer.
"""
