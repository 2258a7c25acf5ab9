"""The Premiere Pro UXP plugin: ``manifest.json``, the host adapter ``host_premiere.js`` and
:func:`~v2m.nle_plugins.premiere.package.build_plugin`, which lays them out with the panel."""
