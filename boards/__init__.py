"""The board domain on top of pycrdt: schema 1, typed edits, tolerant reading, templates,
rendering and exports. No network code; `boards` never imports `server`."""
