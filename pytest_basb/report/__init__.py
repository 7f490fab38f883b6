"""Report writers, run on the controller at session end: the gate verdict (`gate`), gate.json and
gate.md (`gate_files`), metrics (`metrics`), events (`events`), shard merging (`merge`), Allure side
files and labels (`allure_files`, `allure_labels`). Pure functions of result records: may import
`checks`, `inventory`, `model`; no pytest, no mcp. Nothing is imported here, so importing a
submodule stays cheap.
"""
