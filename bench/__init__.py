"""The benchmark: this registry against pypiserver, pypicloud and devpi-server (``make bench``).

Not a test: ``python bench/run.py --help`` says how to run it; ``bench/README.md`` what it
measures and why the server settings are what they are.
"""
