"""Subcommands of the `xlit` CLI, one module each with `main(argv) -> int`."""
