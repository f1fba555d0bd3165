"""The desktop app (`signclip app`): a PySide6 window over `signclip.runtime`; no model logic here."""
