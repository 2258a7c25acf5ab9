"""DaVinci Resolve Scripts menu entry: copy (or link) this file into Resolve's script folder
(Edit scripts: .../Fusion/Scripts/Edit/), see README "DaVinci Resolve". It finds the v2m
install through V2M_HOME (the repository folder with its .venv) and scores the marked range."""

import glob
import os
import sys

home = os.environ.get("V2M_HOME", os.path.expanduser("~/v2m"))
for site in glob.glob(os.path.join(home, ".venv", "lib", "python3*", "site-packages")):
    sys.path.insert(0, site)

from v2m.nle_plugins.resolve.score_selection import main  # noqa: E402

main()
