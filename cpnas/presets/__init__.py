"""Config presets shipped inside the package (``--config NAME``); see docs/scale.md."""
