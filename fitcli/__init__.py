"""fitcli: model fitting from a YAML config on its own reverse-mode AD engine."""

__version__ = "0.1.0"
