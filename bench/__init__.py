"""The benchmark orchestrator: bring up a profile, run k6 against it, report and chart.

Run it from the repository root with the project's venv: `python -m bench --help`.
"""
