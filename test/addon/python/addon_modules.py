"""
Imports the add-on's pure modules (no bpy) as `brender_submit.X` without
running its __init__.py, which needs Blender.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

PACKAGE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "src", "addon", "brender_submit")


def load(name):
    if "brender_submit" not in sys.modules:
        spec = importlib.machinery.ModuleSpec("brender_submit", None, is_package=True)
        package = importlib.util.module_from_spec(spec)
        package.__path__ = [os.path.abspath(PACKAGE_DIR)]
        sys.modules["brender_submit"] = package
    return importlib.import_module("brender_submit." + name)
