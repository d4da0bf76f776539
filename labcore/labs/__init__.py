"""One recipe module per lab: a frozen Config with PRESETS and run(config, reporter)."""
