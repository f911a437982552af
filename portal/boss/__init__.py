"""The only code that talks to BOSS. Views and tasks call it; nothing else builds BOSS URLs."""
