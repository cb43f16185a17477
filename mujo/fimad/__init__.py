"""The FiMAD on-disk format: its names (layout), arrays, reader, writer, validation, windows and one error family."""
