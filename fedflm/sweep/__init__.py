"""``fedflm sweep``: hyperparameters chosen on a validation split carved from the training data."""
