"""The embedded default: what the app builds on first start (status, presets, the pipeline), one module each."""
