"""audioguide: turn per-exhibit narration scripts into tagged MP3 tracks and numbered playlists."""

__version__ = "0.1.0"
