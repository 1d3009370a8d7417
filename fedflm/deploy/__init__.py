"""Deployment on Flower's Deployment Engine: certificates, SuperLink and SuperNode processes, checkpoints."""
