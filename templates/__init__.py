"""Shipped jinja2 templates (data package; see setup.cfg package_dir)."""
