"""DaVinci Resolve integration: a Scripts-menu script that scores the marked range."""
