"""Check policy and waivers, judged without a run: which check ids exist (`catalogue`), the level a
check runs at and where that was set (`levels`), which waivers cover a failure and in what state they
are (`waivers`), and a check's outcome with both applied (`apply`). Pure: may import `model` only;
no pytest, no mcp.
"""
