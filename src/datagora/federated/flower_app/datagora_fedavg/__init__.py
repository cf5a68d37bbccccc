"""Datagora's Flower app: FedAvg over a scikit-learn logistic regression (runs inside Flower's environment)."""
