"""pyinfra's operation modules. Each `pyinfra.operations.<module>` is generated from rinfra's
operation registry (the operations are Rust); `python` and `util` are written here."""
