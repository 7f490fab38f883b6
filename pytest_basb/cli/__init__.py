"""Console scripts: `basb-baseline` (`baseline`), `basb-log` (`log`) and the MCP prober `basb-probe`
(`probe`, a long-running HTTP exporter: exit 0 when stopped). Each parses arguments, calls
the library, and exits 0 (ok), 1 (the answer is no) or 2 (bad input). Top layer.
"""
