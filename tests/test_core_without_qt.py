"""The core imports and runs while PySide6 cannot be imported at all."""

from __future__ import annotations

import subprocess
import sys

from cd_support import DEMO

BLOCK_QT = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'):
            raise ImportError('Qt is blocked in this test: ' + name)
sys.meta_path.insert(0, Block())
"""


def test_core_runs_with_qt_blocked(tmp_path):
    code = BLOCK_QT + f"""
import importlib, pkgutil
import clusterdesk
core = ['clusterdesk.model', 'clusterdesk.model.rules', 'clusterdesk.service', 'clusterdesk.store',
        'clusterdesk.templates', 'clusterdesk.cli', 'clusterdesk.export']
for name in core:
    importlib.import_module(name)
for m in pkgutil.walk_packages(clusterdesk.__path__, 'clusterdesk.'):
    if not m.name.startswith(('clusterdesk.ui', 'clusterdesk.__main__')):
        importlib.import_module(m.name)
from clusterdesk.cli import main
rc = main(['--db', r'{tmp_path / "d.db"}', 'import', r'{DEMO / "cq-2024-application.json"}'])
assert rc == 0, rc
rc = main(['--db', r'{tmp_path / "d.db"}', 'validate', '1'])
assert rc == 0, rc
assert not any(k.startswith('PySide6') for k in sys.modules)
print('OK')
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("OK")
