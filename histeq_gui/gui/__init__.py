"""The histeq-gui viewer (PyQt5 + pyqtgraph).

This package is the only place that imports Qt.  It draws what
:mod:`histeq_gui.core` computes and adds no equalization maths of its own.
"""
