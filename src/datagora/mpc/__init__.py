"""Secure multi-party computation adapters (Hu, Xin, Deng, Qian: loyalty points settled by MPC).

- :mod:`~datagora.mpc.points`: the points paper's function F(A, B) and the membership tier, in the clear (the
  reference) and as an MPyC circuit over Shamir secret shares;
- :mod:`~datagora.mpc.session`: three MPyC parties (brand, platform, input-less helper), each its own OS process
  on 127.0.0.1, TLS between them;
- :mod:`~datagora.mpc.lin_tzeng` and :mod:`~datagora.mpc.dgk`: two-party secure comparisons (the paper's
  Lin-Tzeng with Paillier as the reference, DGK as the faster one).

This package imports MPyC, python-paillier and gmpy2; nothing above ``services/`` imports it directly.
"""
