"""Real Kafka, Neo4j and FerretDB servers on loopback, without Docker.

Run ``python -m deploy.local --help`` from the repository root. The Python API:

* :func:`deploy.local.servers.ensure_up` starts whatever is not running and returns the
  ``CIVICGRID_*`` connection variables;
* :mod:`deploy.local.processes` is a generic detached-process helper (pid file, log file,
  stop, health wait) usable for any command.

Stdlib only: this package must import and run with nothing but CPython 3.11.
"""
