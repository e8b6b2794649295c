"""Connectors: rinfra's are Rust; Python connector classes (`pyinfra.connectors` entry points)
derive from `pyinfra.connectors.base.BaseConnector`."""
