"""The PySide6 wizard. Every Qt import goes through :mod:`clusterdesk.ui.qt`."""
