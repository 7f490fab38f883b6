"""Report writers, run on the controller at session end: gate verdict (`gate`), gate.json/gate.md
(`gate_files`), the Obsidian daily log (`obsidian`) and weekly summary (`weekly`), Allure side files
(`allure_files`) and the `basb-log` CLI (`cli`). Pure Python: no pytest, no MCP; nothing is
imported here so importing a submodule stays cheap.
"""
