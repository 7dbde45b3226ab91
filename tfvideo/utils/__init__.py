"""Small shared utilities: video files, progress lines and CLI logging."""
