"""pyinfra's fact modules. Each `pyinfra.facts.<module>` is generated from rinfra's fact
registry (the facts are Rust)."""
