"""Retiming a recording onto the cuts (the ``retime`` backend): music analysis (cached), the
time map that moves the music's own accents onto the cuts, and the stretch that renders it."""
