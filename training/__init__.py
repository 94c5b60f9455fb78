"""Datasets, models, losses, baselines and train/evaluate CLIs for expression recognition.

A pure PyTorch / scikit-learn library; it never imports Django.
"""
