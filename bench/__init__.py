"""Benchmarks of collabkg: the build at growing sizes and the query service against its peers (``python -m bench``).

Nothing here runs in the test suite's pass/fail tests: timings depend on the machine. See README, Performance.
"""
