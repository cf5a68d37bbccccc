"""Compute-to-data (Wang and Liu, EntDSM, system model steps 7-8): the requester's model travels to the data and only
its result comes back.

- :mod:`.spec`: the declarative job spec (a scikit-learn estimator from an allow-list, its parameters, feature and
  label columns, the outputs wanted), its canonical JSON and its EIP-712 signature by the requester.
- :mod:`.policy`: the owner's W3C ODRL policy for compute jobs and the automatic check naming the rule a job breaks.
- :mod:`.runner`: runs an allowed estimator on the owner's table and builds the result (parameters, hold-out
  metrics, aggregates; differentially private with diffprivlib when asked).
- :mod:`.sandbox`: runs arbitrary Python, where the owner's policy allows it, in a child process with CPU, memory
  and wall-time limits and no network.

Heavy libraries (numpy, pandas, scikit-learn, diffprivlib) are imported inside the functions that use them, so an
idle node does not load them.
"""
