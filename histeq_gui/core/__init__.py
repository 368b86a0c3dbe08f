"""The Qt-free core of histeq-gui: methods, histograms, layouts, files, export."""
