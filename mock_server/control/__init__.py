"""The control plane: drive a running mock from a test, over HTTP under `/_unleash-pat/`.

- `middleware.py`: sits in front of the mock; answers control paths, applies faults, journals.
- `routes.py`: the control API's operations (reset, state, fixtures, clock, faults, journal,
  options), described by `openapi.yaml` beside it.
- `faults.py`: fault rules (status and body, latency, a dropped connection, a truncated answer).
- `journal.py`: the bounded request journal, with every credential redacted.
- `client.py`: the Python client (`ControlClient`) the pytest plugin hands out.
"""
