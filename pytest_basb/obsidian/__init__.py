"""The Obsidian DevOps log: the daily note (`daily`), the weekly summary (`weekly`) and the Markdown
helpers they share (`note`). Pure writers over report records: may import `report`, `model`; no
pytest, no mcp.
"""
