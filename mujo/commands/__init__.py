"""The `mujo` sub-commands, one module per group; each module's `register(subparsers)` adds its commands."""
