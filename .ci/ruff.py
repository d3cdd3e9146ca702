"""Run ruff with the settings kept in setup.cfg's [tool:ruff] (ruff itself reads no setup.cfg)."""

import configparser
import os
import sys
from pathlib import Path

cfg = configparser.ConfigParser()
cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
overrides = [arg for key, value in cfg["tool:ruff"].items() for arg in ("--config", f"{key} = {value}")]
args = sys.argv[1:]
# ruff's global options go after the subcommand: `ruff check --config ... PATHS`
os.execvp("ruff", ["ruff", args[0], "--isolated", *overrides, *args[1:]])
