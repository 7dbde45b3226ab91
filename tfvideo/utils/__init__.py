"""Small shared utilities: atomic file writes, video files, progress lines and CLI logging."""
