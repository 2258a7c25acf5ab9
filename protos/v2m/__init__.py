"""v2m — score video edits with music whose accents land on the cuts.

This is the root package. Its sub-packages live in the repository's top-level folders
(DESIGN §2): ``v2m.model`` (analysis and generation), ``v2m.server`` (CLI, gRPC server),
``v2m.nle_plugins`` (timelines and editor glue) and ``v2m.v1`` (the gRPC contract).
"""

__version__ = "0.1.0"
