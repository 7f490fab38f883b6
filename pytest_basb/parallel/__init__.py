"""pytest-xdist: the plan that keeps every check of a service on one worker (`scheduling`) and the
controller's scheduler that follows it (`xdist_scheduler`). May import `run` and below.
"""
